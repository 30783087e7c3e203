import { insertIgnore } from '../data/db.js';
import { badInput } from '../engine/errors.js';
import type { RemoteTypeDef } from '../engine/schema/model.js';
import { hashKey, normalizeEntity, normalizeKey, type RemoteContext } from './context.js';
import type { RemoteKey } from './hash.js';
import { remoteRefsByHash } from './remote-ref-store.js';

export interface RemoteChange {
  entityType: string;
  key: unknown;
  op: 'UPSERT' | 'DELETE';
  entity?: unknown;
  eventId?: string | null;
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
    // Only the fields the event carries: a partial entity (a change feed may send only changed columns) is merged below.
    const given = e.op === 'UPSERT' && e.entity ? (e.entity as Record<string, unknown>) : null;
    const entity = given ? Object.fromEntries(type.fields.filter((f) => f in given).map((f) => [f, given[f]])) : null;
    return { type, key, hash: hashKey(key), op: e.op, entity, eventId: e.eventId ?? null };
  });
}

/**
 * Applies change events in one transaction, in order: an upsert with the entity refreshes the
 * cached copy (fields it lacks keep their cached values), one without evicts it, a delete flags
 * the row deleted and keeps the last copy.
 * Keys nobody refers to, and event ids already applied, are ignored.
 */
export async function applyRemoteChanges(ctx: RemoteContext, events: readonly RemoteChange[]): Promise<ApplyRemoteChangesResult> {
  const changes = check(ctx, events);
  return ctx.db.transaction(async (tx) => {
    const result: ApplyRemoteChangesResult = { evicted: 0, refreshed: 0, markedDeleted: 0, ignored: 0 };
    const now = await tx.now();
    for (const c of changes) {
      if (c.eventId) {
        const fresh = await tx.execute(`${insertIgnore(tx)} INTO applied_event (event_id, applied_at) VALUES (?, ?)`, [c.eventId, now]);
        if (fresh === 0) {
          result.ignored++;
          continue;
        }
      }
      const [row] = await remoteRefsByHash(tx, c.type.name, [c.hash], tx.forUpdate);
      if (!row) {
        result.ignored++;
        continue;
      }
      if (c.op === 'DELETE') {
        await tx.execute(`UPDATE remote_ref SET deleted = 1, last_error = NULL WHERE id = ?`, [row.id]);
        result.markedDeleted++;
      } else if (c.entity && (row.entity || c.type.fields.every((f) => f in c.entity!))) {
        const merged = normalizeEntity(c.type, c.key, { ...(row.entity ?? {}), ...c.entity });
        await tx.execute(
          `UPDATE remote_ref SET cached_entity = ?, deleted = 0, fetched_at = ?, last_error = NULL, failures = 0 WHERE id = ?`,
          [JSON.stringify(merged), now, row.id],
        );
        result.refreshed++;
      } else {
        // No entity, or a partial one with no cached copy to complete it: refetch on the next read.
        await tx.execute(`UPDATE remote_ref SET cached_entity = NULL, deleted = 0 WHERE id = ?`, [row.id]);
        result.evicted++;
      }
    }
    return result;
  });
}

