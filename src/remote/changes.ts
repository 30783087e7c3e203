import { insertIgnore } from '../data/db.js';
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
    for (const [i, c] of changes.entries()) {
      if (c.eventId) {
        const fresh = await tx.execute(`${insertIgnore(tx)} INTO applied_event (event_id, applied_at) VALUES (?, ?)`, [c.eventId, now]);
        if (fresh === 0) {
          result.ignored++;
          continue;
        }
      }
      const row = rows.get(`${c.type.name}|${c.hash}`);
      const position = c.position ?? encodePosition({ tsMs: nowMs, pos: nowMicros, sequence: i + 1 });
      if (!row || !isNewer(position, row.position)) {
        result.ignored++;
        continue;
      }
      if (c.op === 'DELETE') {
        await tx.execute(`UPDATE remote_ref SET deleted = 1, fetched_at = ?, last_error = NULL, source_position = ? WHERE id = ?`, [now, position, row.id]);
        Object.assign(row, { deleted: true, position });
        result.markedDeleted++;
      } else if (c.entity && (row.entity || c.type.fields.every((f) => f in c.entity!))) {
        const merged = normalizeEntity(c.type, c.key, { ...(row.entity ?? {}), ...c.entity });
        await tx.execute(
          `UPDATE remote_ref SET cached_entity = ?, deleted = 0, fetched_at = ?, last_error = NULL, failures = 0, source_position = ? WHERE id = ?`,
          [JSON.stringify(merged), now, position, row.id],
        );
        Object.assign(row, { entity: merged, deleted: false, position });
        result.refreshed++;
      } else {
        // No entity, or a partial one with no cached copy to complete it: refetch on the next read.
        await tx.execute(`UPDATE remote_ref SET cached_entity = NULL, deleted = 0, source_position = ? WHERE id = ?`, [position, row.id]);
        Object.assign(row, { entity: null, deleted: false, position });
        result.evicted++;
      }
    }
    return result;
  });
}
