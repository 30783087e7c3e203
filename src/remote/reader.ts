import { DomainError } from '../engine/errors.js';
import { remoteCacheReads } from '../observability/metrics.js';
import { groupBy } from '../util/group-by.js';
import { fetchEntities, normalizeEntity, type RemoteContext } from './context.js';
import { linkedRemoteRows, storeFailure, storeFetched, storeGone, toRemoteRecord, type RemoteRefRecord } from './remote-ref-store.js';

export interface RemoteLinkKey {
  resourceId: string;
  path: string;
}

/**
 * The "remote LEFT JOIN": every remote reference of the resources asked for in one local query,
 * then one remote query per entity type (chunked) for rows whose cached entity was evicted. A
 * failing store leaves those rows MISSING with `lastError`; nothing else in the response fails.
 */
export async function loadRemoteLinks(ctx: RemoteContext, keys: readonly RemoteLinkKey[]): Promise<(RemoteRefRecord | null)[]> {
  const rows = await linkedRemoteRows(ctx.db, keys.map((k) => k.resourceId));
  const records = new Map<string, RemoteRefRecord>();
  const byLink = new Map<string, RemoteRefRecord>();
  for (const row of rows) {
    const rec = records.get(row.id) ?? toRemoteRecord(row);
    records.set(row.id, rec);
    byLink.set(`${row.resource_id}|${row.path}`, rec);
  }
  await refill(ctx, [...records.values()].filter((r) => r.entity === null && !r.deleted));
  const found = keys.map((k) => byLink.get(`${k.resourceId}|${k.path}`) ?? null);
  for (const r of found) if (r) remoteCacheReads.inc({ status: r.status });
  return found;
}

/** Refetches evicted rows in place (the records passed in are updated). */
export async function refill(ctx: RemoteContext, evicted: RemoteRefRecord[]): Promise<void> {
  if (!evicted.length) return;
  const now = await ctx.db.now();
  for (const [typeName, group] of groupBy(evicted, (r) => r.entityType)) {
    const type = ctx.schema.remoteTypes.get(typeName);
    if (!type) continue;
    let found: Awaited<ReturnType<typeof fetchEntities>>;
    try {
      found = await fetchEntities(ctx, type, group.map((r) => r.key));
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      await storeFailure(ctx.db, group.map((r) => r.id), e.message);
      for (const r of group) Object.assign(r, { lastError: e.message, failures: r.failures + 1, status: 'MISSING' });
      continue;
    }
    const fetched = group.filter((r) => found.has(r.hashKey)).map((r) => ({ r, entity: normalizeEntity(type, r.key, found.get(r.hashKey)!) }));
    const gone = group.filter((r) => !found.has(r.hashKey));
    await storeFetched(ctx.db, fetched.map(({ r, entity }) => ({ id: r.id, entity })), now, { onlyEvicted: true });
    for (const { r, entity } of fetched) Object.assign(r, { entity, fetchedAt: now, lastError: null, failures: 0, status: 'FRESH' });
    const message = `${type.name} no longer exists in its store`;
    await storeGone(ctx.db, gone.map((r) => r.id), now, message);
    for (const r of gone) Object.assign(r, { deleted: true, fetchedAt: now, lastError: message, status: 'DELETED' });
  }
}
