import { chunks, placeholders, readInChunks } from '../data/chunk.js';
import { insertIgnore, type Tx } from '../data/db.js';
import { badInput } from '../engine/errors.js';
import type { RemoteTypeDef } from '../engine/schema/model.js';
import { hashKey, normalizeEntity, normalizeKey, type RemoteContext } from './context.js';
import type { RemoteKey } from './hash.js';
import { toIso } from '../data/time.js';
import { groupBy } from '../util/group-by.js';
import { encodePosition, isNewer, type SourcePosition } from './position.js';
import { remoteRefsByHash, type RemoteRefRecord } from './remote-ref-store.js';

const POSITION = /^\d{15}-\d{40}-\d{24}$/;

export interface RemoteChange {
  entityType: string;
  key: unknown;
  op: 'UPSERT' | 'DELETE';
  entity?: unknown;
  eventId?: string | null;
  /** Source position of the change (src/remote/position.ts); without one, the moment it is applied. */
  position?: string | null;
}

export interface ApplyRemoteChangesResult {
  evicted: number;
  refreshed: number;
  markedDeleted: number;
  ignored: number;
}

export const MAX_EVENTS = 1000;

interface CheckedChange {
  type: RemoteTypeDef;
  key: RemoteKey;
  hash: string;
  op: 'UPSERT' | 'DELETE';
  entity: Record<string, unknown> | null;
  eventId: string | null;
  position: SourcePosition | null;
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
    if (e.entity !== undefined && e.entity !== null && (typeof e.entity !== 'object' || Array.isArray(e.entity))) {
      throw badInput(`events[${i}].entity must be an object`);
    }
    if (e.eventId !== undefined && e.eventId !== null && (e.eventId.length === 0 || e.eventId.length > 191)) {
      throw badInput(`events[${i}].eventId must have 1 to 191 characters`);
    }
    if (e.position !== undefined && e.position !== null && !POSITION.test(e.position)) {
      throw badInput(`events[${i}].position is not a source position`);
    }
    // Only the fields the event carries: a partial entity (a change feed may send only changed columns) is merged below.
    const given = e.op === 'UPSERT' && e.entity ? (e.entity as Record<string, unknown>) : null;
    const entity = given ? Object.fromEntries(type.fields.filter((f) => f in given).map((f) => [f, given[f]])) : null;
    return { type, key, hash: hashKey(key), op: e.op, entity, eventId: e.eventId ?? null, position: e.position ?? null };
  });
}

/**
 * Applies change events in one transaction. Each is written only if its source position is newer
 * than the row's (compare-and-set), so arrival order does not matter: an older or repeated event
 * is ignored. An upsert with the entity refreshes the cached copy (fields it lacks keep their
 * cached values), one without evicts it, a delete flags the row deleted and keeps the last copy.
 * Rows are locked in key order, so replicas applying overlapping batches never deadlock.
 * Keys nobody refers to, and event ids already applied, are ignored.
 */
export async function applyRemoteChanges(ctx: RemoteContext, events: readonly RemoteChange[]): Promise<ApplyRemoteChangesResult> {
  const changes = check(ctx, events);
  return ctx.db.transaction(async (tx) => {
    const result: ApplyRemoteChangesResult = { evicted: 0, refreshed: 0, markedDeleted: 0, ignored: 0 };
    const rows = new Map<string, RemoteRefRecord>();
    for (const [typeName, group] of groupBy(changes, (c) => c.type.name)) {
      const hashes = [...new Set(group.map((c) => c.hash))].sort();
      // One locking read per type, keys in order (ORDER BY makes InnoDB take the locks in that order).
      for (const row of await remoteRefsByHash(tx, typeName, hashes, ` ORDER BY remote_hash_key${tx.forUpdate}`)) rows.set(`${typeName}|${row.hashKey}`, row);
    }
    const now = await tx.now();
    // Events without a position are as of now, in the order given (µs of the clock, then index).
    const nowMs = Date.parse(toIso(now));
    const nowMicros = Number(now.slice(-3));
    const applied = await rememberEvents(tx, changes, now);
    const dirty = new Set<RemoteRefRecord>();
    for (const [i, c] of changes.entries()) {
      if (c.eventId && !applied.has(c)) {
        result.ignored++;
        continue;
      }
      const row = rows.get(`${c.type.name}|${c.hash}`);
      const position = c.position ?? encodePosition({ tsMs: nowMs, pos: nowMicros, sequence: i + 1 });
      if (!row || !isNewer(position, row.position)) {
        result.ignored++;
        continue;
      }
      if (c.op === 'DELETE') {
        Object.assign(row, { deleted: true, position, fetchedAt: now, lastError: null });
        result.markedDeleted++;
      } else if (c.entity && (row.entity || c.type.fields.every((f) => f in c.entity!))) {
        const merged = normalizeEntity(c.type, c.key, { ...(row.entity ?? {}), ...c.entity });
        Object.assign(row, { entity: merged, deleted: false, position, fetchedAt: now, lastError: null, failures: 0 });
        result.refreshed++;
      } else {
        // No entity, or a partial one with no cached copy to complete it: refetch on the next read.
        Object.assign(row, { entity: null, deleted: false, position });
        result.evicted++;
      }
      dirty.add(row);
    }
    // The rows are locked: their final states go back in one statement per chunk.
    await writeRows(tx, [...dirty]);
    return result;
  });
}

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
    (await readInChunks(ids, (c) => tx.query<{ event_id: string }>(`SELECT event_id FROM applied_event WHERE event_id IN (${placeholders(c.length)})`, c))).map(
      (r) => r.event_id,
    ),
  );
  const taken = new Set<string>();
  for (const c of changes) {
    if (c.eventId === null || known.has(c.eventId) || taken.has(c.eventId)) continue;
    taken.add(c.eventId);
    fresh.add(c);
  }
  for (const c of chunks([...taken], 200)) {
    if (!c.length) continue;
    await tx.execute(`${insertIgnore(tx)} INTO applied_event (event_id, applied_at) VALUES ${c.map(() => '(?, ?)').join(', ')}`, c.flatMap((id) => [id, now]));
  }
  return fresh;
}

/** Writes the in-memory state of locked rows, one UPDATE per chunk (a CASE per column). */
async function writeRows(tx: Tx, rows: readonly RemoteRefRecord[]): Promise<void> {
  for (const c of chunks(rows, 100)) {
    if (!c.length) continue;
    const column = (value: (r: RemoteRefRecord) => unknown) => ({ sql: `CASE id ${c.map(() => 'WHEN ? THEN ?').join(' ')} END`, params: c.flatMap((r) => [r.id, value(r)]) });
    const sets = {
      cached_entity: column((r) => (r.entity === null ? null : JSON.stringify(r.entity))),
      deleted: column((r) => (r.deleted ? 1 : 0)),
      fetched_at: column((r) => r.fetchedAt),
      last_error: column((r) => r.lastError),
      failures: column((r) => r.failures),
      source_position: column((r) => r.position),
    };
    await tx.execute(
      `UPDATE remote_ref SET ${Object.entries(sets).map(([name, s]) => `${name} = ${s.sql}`).join(', ')} WHERE id IN (${placeholders(c.length)})`,
      [...Object.values(sets).flatMap((s) => s.params), ...c.map((r) => r.id)],
    );
  }
}
