import { DomainError } from '../engine/errors.js';
import { groupBy } from '../util/group-by.js';
import { fetchEntities, normalizeEntity, type RemoteContext } from './context.js';
import type { RemoteKey } from './hash.js';
import {
  linkedRemoteRows,
  remoteRefsByTypedHashes,
  storeFailure,
  storeFetched,
  storeGone,
  toRemoteRecord,
  type RemoteRefRecord,
  type TypedHash,
} from './remote-ref-store.js';
import type { RemoteEntity } from './sources/source.js';

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
  return keys.map((k) => byLink.get(`${k.resourceId}|${k.path}`) ?? null);
}

export interface RemoteEntityKey extends TypedHash {
  key: RemoteKey;
}

/**
 * Remote entities by key, as a federation `_entities` call asks for them: the cache rows of every
 * key in one local query, evicted rows refetched (and stored) with one remote query per type, as
 * the remote LEFT JOIN does. A key no document refers to has no cache row: it is read through from
 * its store (one remote query per type, not cached: the cache holds what documents refer to). What
 * the store does not have is null; a DELETED row gives its last copy, as `EmployeeRef.entity` does.
 * An entity the cache lacks while its store is down is a REMOTE_SOURCE_UNAVAILABLE error (in its
 * place only), so that no caller mistakes "cannot tell now" for "does not exist".
 */
export async function loadRemoteEntities(ctx: RemoteContext, keys: readonly RemoteEntityKey[]): Promise<(RemoteEntity | DomainError | null)[]> {
  const rows = new Map((await remoteRefsByTypedHashes(ctx.db, keys)).map((r) => [`${r.entityType}|${r.hashKey}`, r]));
  await refill(ctx, [...rows.values()].filter((r) => r.entity === null && !r.deleted));
  const uncached = keys.filter((k) => !rows.has(`${k.entityType}|${k.hashKey}`));
  const readThrough = new Map<string, RemoteEntity>();
  const unavailable = new Map<string, DomainError>();
  for (const [typeName, group] of groupBy(uncached, (k) => k.entityType)) {
    const type = ctx.schema.remoteType(typeName);
    const asked = new Map(group.map((k) => [k.hashKey, k.key]));
    try {
      for (const [hash, entity] of await fetchEntities(ctx, type, [...asked.values()])) {
        const key = asked.get(hash);
        if (key) readThrough.set(`${typeName}|${hash}`, normalizeEntity(type, key, entity));
      }
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      unavailable.set(typeName, e);
    }
  }
  return keys.map((k) => {
    const id = `${k.entityType}|${k.hashKey}`;
    const row = rows.get(id);
    if (row) return row.entity ?? (row.deleted ? null : unavailableError(row));
    return readThrough.get(id) ?? unavailable.get(k.entityType) ?? null;
  });
}

const unavailableError = (row: RemoteRefRecord) =>
  new DomainError('REMOTE_SOURCE_UNAVAILABLE', row.lastError ?? `The store holding ${row.entityType} is unavailable`, { entityType: row.entityType });

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
