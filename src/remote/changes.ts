import { chunks, placeholders, readInChunks } from '../data/chunk.js';
import { insertIgnore, type Tx } from '../data/db.js';
import { badInput } from '../engine/errors.js';
import type { RemoteTypeDef } from '../model/model.js';
import { DEFAULT_MAX_CLOCK_SKEW_SECONDS, hashKey, normalizeEntity, normalizeKey, type RemoteContext } from './context.js';
import { entityProblem } from './entity-check.js';
import type { RemoteKey } from './hash.js';
import { toIso } from '../data/time.js';
import { groupBy } from '../util/group-by.js';
import { beyondSkew, isNewerOnClock, isPositionValue, type FeedPosition, type PositionClock } from './position.js';
import { refill } from './reader.js';
import { remoteRefsByHash, type RemoteRefRecord } from './remote-ref-store.js';

export interface RemoteChange {
  entityType: string;
  key: unknown;
  op: 'UPSERT' | 'DELETE';
  entity?: unknown;
  eventId?: string | null;
  /** Where in the store's history the change comes from (src/remote/position.ts); without one, as of the moment it is applied. */
  position?: FeedPosition | null;
}

export interface ApplyRemoteChangesResult {
  evicted: number;
  refreshed: number;
  markedDeleted: number;
  ignored: number;
  /** Keys checked at their store because an event ignored as older said something else than the cache. */
  checked: number;
}

export const MAX_EVENTS = 1000;

const CLOCKS: ReadonlySet<string> = new Set<PositionClock>(['binlog', 'lsn', 'ts']);

interface CheckedChange {
  type: RemoteTypeDef;
  key: RemoteKey;
  hash: string;
  op: 'UPSERT' | 'DELETE';
  entity: Record<string, unknown> | null;
  eventId: string | null;
  position: FeedPosition | null;
}

function check(ctx: RemoteContext, events: readonly RemoteChange[]): CheckedChange[] {
  if (events.length > MAX_EVENTS) throw badInput(`events: at most ${MAX_EVENTS} events per call (got ${events.length})`);
  return events.map((e, i) => {
    const type = ctx.schema.remoteTypes.get(e.entityType);
    if (!type) throw badInput(`events[${i}].entityType: unknown remote type "${e.entityType}"`);
    let key: RemoteKey;
    try {
      key = normalizeKey(type, e.key);
    } catch (err) {
      throw badInput(`events[${i}].key: ${(err as Error).message}`);
    }
    if (e.eventId !== undefined && e.eventId !== null && (e.eventId.length === 0 || e.eventId.length > 191)) {
      throw badInput(`events[${i}].eventId must have 1 to 191 characters`);
    }
    const p = e.position;
    if (
      p !== undefined &&
      p !== null &&
      (!CLOCKS.has(p.clock) || !isPositionValue(p.value) || (p.tsMs !== null && !Number.isFinite(p.tsMs)))
    ) {
      throw badInput(`events[${i}].position is not a source position`);
    }
    let entity: Record<string, unknown> | null = null;
    if (e.op === 'UPSERT' && e.entity !== undefined && e.entity !== null) {
      // Only the fields the event carries: a partial entity (a change feed may send only changed columns) is merged below.
      const problem = entityProblem(type, e.entity, { partial: true, strict: true });
      if (problem) throw badInput(`events[${i}].entity: ${problem}`);
      const given = e.entity as Record<string, unknown>;
      entity = Object.fromEntries(type.fields.filter((f) => f in given && !type.key.includes(f)).map((f) => [f, given[f]]));
    }
    return { type, key, hash: hashKey(key), op: e.op, entity, eventId: e.eventId ?? null, position: p ?? null };
  });
}

/** Whether an event says something else than the row holds (an event ignored as older that does is checked at the store). */
function differs(c: CheckedChange, row: RemoteRefRecord): boolean {
  if (c.op === 'DELETE') return !row.deleted;
  if (row.deleted || c.entity === null) return c.entity !== null || row.deleted;
  if (row.entity === null) return true;
  return Object.entries(c.entity).some(([f, v]) => (row.entity![f] ?? null) !== (v ?? null));
}

/**
 * Applies change events in one transaction. An event with a source position is written only if it
 * is newer than the last event the row took on the same clock (compare-and-set); a position of
 * another clock tells nothing about order, so that event is written (what is wrong is then set
 * right by the next event, the check below or the sweep; nothing can hold a row back for good).
 * An event without a position is as of now, in the order given. An event dated more than
 * CHANGE_FEED_MAX_CLOCK_SKEW_SECONDS ahead is refused (the feed dead-letters it): taken, it would
 * be newer than every real event of its clock.
 *
 * An upsert with the entity refreshes the cached copy (fields it lacks keep their cached values),
 * one without evicts it, a delete flags the row deleted and keeps the last copy. Every write dates
 * the row's state (state_at, the operational store's clock), so a refetch that began before it
 * cannot overwrite it. An event ignored as older whose content differs from the cache has its key
 * checked at the store once the transaction is over: the cached state may come from a read that
 * did not see the event's transaction yet (finding 15 of issue 17).
 *
 * Rows are locked in key order, so replicas applying overlapping batches never deadlock. Keys
 * nobody refers to, and event ids already applied, are ignored.
 */
export async function applyRemoteChanges(ctx: RemoteContext, events: readonly RemoteChange[]): Promise<ApplyRemoteChangesResult> {
  const changes = check(ctx, events);
  const toCheck = new Map<string, RemoteRefRecord>();
  const result = await ctx.db.transaction(async (tx) => {
    toCheck.clear(); // a transaction tried again starts over
    const result: ApplyRemoteChangesResult = { evicted: 0, refreshed: 0, markedDeleted: 0, ignored: 0, checked: 0 };
    const now = await tx.now();
    const skewSeconds = ctx.maxClockSkewSeconds ?? DEFAULT_MAX_CLOCK_SKEW_SECONDS;
    for (const [i, c] of changes.entries()) {
      const ahead = beyondSkew(c.position, Date.parse(toIso(now)), skewSeconds * 1000);
      if (ahead !== null) throw badInput(futureMessage(`events[${i}]`, ahead, skewSeconds));
    }
    const rows = new Map<string, RemoteRefRecord>();
    for (const [typeName, group] of groupBy(changes, (c) => c.type.name)) {
      const hashes = [...new Set(group.map((c) => c.hash))].sort();
      // One locking read per type, keys in order (ORDER BY makes InnoDB take the locks in that order).
      for (const row of await remoteRefsByHash(tx, typeName, hashes, ` ORDER BY remote_hash_key${tx.forUpdate}`))
        rows.set(`${typeName}|${row.hashKey}`, row);
    }
    const applied = await rememberEvents(tx, changes, now);
    const dirty = new Set<RemoteRefRecord>();
    for (const c of changes) {
      const row = rows.get(`${c.type.name}|${c.hash}`);
      if (!row || (c.eventId && !applied.has(c))) {
        result.ignored++;
        continue;
      }
      if (c.position && isNewerOnClock(c.position, row.clock, row.position) === 'older') {
        result.ignored++;
        if (differs(c, row)) toCheck.set(row.id, row);
        continue;
      }
      toCheck.delete(row.id);
      const feed = c.position ? { position: c.position.value, clock: c.position.clock } : {};
      if (c.op === 'DELETE') {
        Object.assign(row, { deleted: true, fetchedAt: now, lastError: null, stateAt: now, ...feed });
        result.markedDeleted++;
      } else if (c.entity && (row.entity || c.type.fields.every((f) => c.type.key.includes(f) || f in c.entity!))) {
        const merged = normalizeEntity(c.type, c.key, { ...(row.entity ?? {}), ...c.entity });
        // A cached copy that does not fit its type cannot complete a partial event: refetch instead.
        const whole = entityProblem(c.type, merged) === null;
        Object.assign(
          row,
          whole ? { entity: merged, deleted: false, fetchedAt: now, lastError: null, failures: 0 } : { entity: null, deleted: false },
          { stateAt: now, ...feed },
        );
        if (whole) result.refreshed++;
        else result.evicted++;
      } else {
        // No entity, or a partial one with no cached copy to complete it: refetch on the next read.
        Object.assign(row, { entity: null, deleted: false, stateAt: now, ...feed });
        result.evicted++;
      }
      dirty.add(row);
    }
    // The rows are locked: their final states go back in one statement per chunk.
    await writeRows(tx, [...dirty]);
    return result;
  });
  if (toCheck.size) {
    // At the store, as a read does: a write only over a state dated before the read began. A
    // store that cannot answer leaves the row as it is; the sweep is the bound then.
    await refill(ctx, [...toCheck.values()]).catch(() => undefined);
    result.checked = toCheck.size;
  }
  return result;
}

export const futureMessage = (what: string, aheadMs: number, skewSeconds: number) =>
  `${what} is dated ${Math.round(aheadMs / 1000)} s ahead of now, more than CHANGE_FEED_MAX_CLOCK_SKEW_SECONDS (${skewSeconds} s): its clock is wrong (or it is not in milliseconds)`;

/**
 * Records the event ids of a batch (two statements per chunk instead of one per event) and
 * returns the changes seen for the first time. Two replicas racing on one id may both take it
 * for new: harmless, as the compare-and-set on the source position lets only one write through.
 */
async function rememberEvents(tx: Tx, changes: readonly CheckedChange[], now: string): Promise<Set<CheckedChange>> {
  const fresh = new Set<CheckedChange>();
  const ids = [...new Set(changes.map((c) => c.eventId).filter((id): id is string => id !== null))];
  if (!ids.length) return fresh;
  const known = new Set(
    (
      await readInChunks(ids, (c) =>
        tx.query<{ event_id: string }>(`SELECT event_id FROM applied_event WHERE event_id IN (${placeholders(c.length)})`, c),
      )
    ).map((r) => r.event_id),
  );
  const taken = new Set<string>();
  for (const c of changes) {
    if (c.eventId === null || known.has(c.eventId) || taken.has(c.eventId)) continue;
    taken.add(c.eventId);
    fresh.add(c);
  }
  for (const c of chunks([...taken], 200)) {
    if (!c.length) continue;
    await tx.execute(
      `${insertIgnore(tx)} INTO applied_event (event_id, applied_at) VALUES ${c.map(() => '(?, ?)').join(', ')}`,
      c.flatMap((id) => [id, now]),
    );
  }
  return fresh;
}

/** Writes the in-memory state of locked rows, one UPDATE per chunk (a CASE per column). */
async function writeRows(tx: Tx, rows: readonly RemoteRefRecord[]): Promise<void> {
  for (const c of chunks(rows, 100)) {
    if (!c.length) continue;
    const column = (value: (r: RemoteRefRecord) => unknown) => ({
      sql: `CASE id ${c.map(() => 'WHEN ? THEN ?').join(' ')} END`,
      params: c.flatMap((r) => [r.id, value(r)]),
    });
    const sets = {
      cached_entity: column((r) => (r.entity === null ? null : JSON.stringify(r.entity))),
      deleted: column((r) => (r.deleted ? 1 : 0)),
      fetched_at: column((r) => r.fetchedAt),
      last_error: column((r) => r.lastError),
      failures: column((r) => r.failures),
      source_position: column((r) => r.position),
      source_clock: column((r) => r.clock),
      state_at: column((r) => r.stateAt),
    };
    await tx.execute(
      `UPDATE remote_ref SET ${Object.entries(sets)
        .map(([name, s]) => `${name} = ${s.sql}`)
        .join(', ')} WHERE id IN (${placeholders(c.length)})`,
      [...Object.values(sets).flatMap((s) => s.params), ...c.map((r) => r.id)],
    );
  }
}
