import { toIso } from '../data/time.js';
import { DomainError } from '../engine/errors.js';
import { remoteCacheReads } from '../observability/metrics.js';
import { groupBy } from '../util/group-by.js';
import { fetchEntities, type Fetched, type RemoteContext } from './context.js';
import { entityProblem } from './entity-check.js';
import type { RemoteKey } from './hash.js';
import {
  linkedRemoteRows,
  remoteRefsByIds,
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

/** A deleted row is asked about again on read once this long has passed since its last check. */
export const DEFAULT_DELETED_RECHECK_MS = 10_000;

/**
 * The "remote LEFT JOIN": every remote reference of the resources asked for in one local query,
 * then one remote query per entity type (chunked) for rows whose cached entity was evicted, and
 * for rows flagged deleted whose last check is older than the back-off (so a key that came back
 * heals on read). A failing store leaves those rows MISSING with `lastError`; nothing else in the
 * response fails.
 */
export async function loadRemoteLinks(ctx: RemoteContext, keys: readonly RemoteLinkKey[]): Promise<(RemoteRefRecord | null)[]> {
  const rows = await linkedRemoteRows(
    ctx.db,
    keys.map((k) => k.resourceId),
  );
  const records = new Map<string, RemoteRefRecord>();
  const byLink = new Map<string, RemoteRefRecord>();
  for (const row of rows) {
    const rec = records.get(row.id) ?? toRemoteRecord(row);
    records.set(row.id, rec);
    byLink.set(`${row.resource_id}|${row.path}`, rec);
  }
  await refill(ctx, needsFetch(ctx, [...records.values()]));
  const found = keys.map((k) => byLink.get(`${k.resourceId}|${k.path}`) ?? null);
  for (const r of found) if (r) remoteCacheReads.inc({ status: r.status });
  return found;
}

export interface RemoteEntityKey extends TypedHash {
  key: RemoteKey;
}

/**
 * The cache rows a request already answers with (Loaders): a row it holds is answered as held
 * (and not fetched again), so that an entity reached by two paths of one operation answers the same.
 */
export interface RequestRecords {
  held(id: string): boolean;
  same(row: RemoteRefRecord): RemoteRefRecord;
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
export async function loadRemoteEntities(
  ctx: RemoteContext,
  keys: readonly RemoteEntityKey[],
  request: RequestRecords = { held: () => false, same: (r) => r },
): Promise<(RemoteEntity | DomainError | null)[]> {
  const read = await remoteRefsByTypedHashes(ctx.db, keys);
  await refill(
    ctx,
    needsFetch(
      ctx,
      read.filter((r) => !request.held(r.id)),
    ),
  );
  const rows = new Map(read.map((r) => [`${r.entityType}|${r.hashKey}`, request.same(r)]));
  const uncached = keys.filter((k) => !rows.has(`${k.entityType}|${k.hashKey}`));
  const readThrough = new Map<string, RemoteEntity>();
  const unavailable = new Map<string, DomainError>();
  for (const [typeName, group] of groupBy(uncached, (k) => k.entityType)) {
    const type = ctx.schema.remoteType(typeName);
    const asked = new Map(group.map((k) => [k.hashKey, k.key]));
    try {
      const found = await fetchEntities(ctx, type, [...asked.values()]);
      for (const [hash, entity] of found) readThrough.set(`${typeName}|${hash}`, entity);
      for (const [hash, reason] of found.refused)
        unavailable.set(`${typeName}|${hash}`, new DomainError('REMOTE_SOURCE_UNAVAILABLE', reason, { entityType: typeName }));
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      for (const k of group) unavailable.set(`${typeName}|${k.hashKey}`, e);
    }
  }
  return keys.map((k) => {
    const id = `${k.entityType}|${k.hashKey}`;
    const row = rows.get(id);
    if (row) return row.entity ?? (row.deleted ? null : unavailableError(row));
    return readThrough.get(id) ?? unavailable.get(id) ?? null;
  });
}

const unavailableError = (row: RemoteRefRecord) =>
  new DomainError('REMOTE_SOURCE_UNAVAILABLE', row.lastError ?? `The store holding ${row.entityType} is unavailable`, {
    entityType: row.entityType,
  });

/**
 * Evicted rows, deleted rows due for another look, and rows whose cached copy does not fit its
 * type (written before types were checked, or by hand): those answer MISSING with why, and are
 * fetched again, never served.
 */
export function needsFetch(ctx: RemoteContext, rows: readonly RemoteRefRecord[]): RemoteRefRecord[] {
  const backoff = ctx.deletedRecheckMs ?? DEFAULT_DELETED_RECHECK_MS;
  const now = Date.now();
  return rows.filter((r) => {
    const type = ctx.schema.remoteTypes.get(r.entityType);
    const problem = r.entity && type ? entityProblem(type, r.entity) : null;
    if (problem)
      Object.assign(r, {
        entity: null,
        status: r.deleted ? 'DELETED' : 'MISSING',
        lastError: `The cached copy does not fit its type: ${problem}`,
      });
    if (!r.deleted) return r.entity === null;
    return problem !== null || r.fetchedAt === null || now - Date.parse(toIso(r.fetchedAt)) >= backoff;
  });
}

/**
 * Refetches rows in place (the records passed in are updated). Each write is a compare-and-set on
 * the row's state: a row whose state was established after the read began keeps it, and the
 * record is read back so the caller sees that state. What the store answers that does not fit the
 * type is not stored: the row keeps what it had (MISSING when it had nothing) with the reason.
 */
export async function refill(ctx: RemoteContext, rows: RemoteRefRecord[]): Promise<void> {
  if (!rows.length) return;
  const overtaken: RemoteRefRecord[] = [];
  for (const [typeName, group] of groupBy(rows, (r) => r.entityType)) {
    const type = ctx.schema.remoteTypes.get(typeName);
    if (!type) continue;
    let found: Fetched;
    try {
      found = await fetchEntities(
        ctx,
        type,
        group.map((r) => r.key),
      );
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      await storeFailure(
        ctx.db,
        group.map((r) => r.id),
        e.message,
      );
      for (const r of group)
        Object.assign(r, {
          lastError: e.message,
          failures: r.failures + 1,
          status: r.deleted ? 'DELETED' : r.entity ? 'FRESH' : 'MISSING',
        });
      continue;
    }
    // Dated when the read began: what it saw is the store's state as of then, or later.
    const now = found.read.startedAt;
    const fetched = group.filter((r) => found.has(r.hashKey)).map((r) => ({ r, entity: found.get(r.hashKey)! }));
    const refused = group.filter((r) => found.refused.has(r.hashKey));
    const gone = group.filter((r) => !found.has(r.hashKey) && !found.refused.has(r.hashKey));
    const message = `${type.name} no longer exists in its store`;
    const written =
      (await storeFetched(
        ctx.db,
        fetched.map(({ r, entity }) => ({ id: r.id, entity })),
        now,
        found.read,
      )) +
      (await storeGone(
        ctx.db,
        gone.map((r) => r.id),
        now,
        message,
        found.read,
      ));
    for (const r of refused) {
      const reason = found.refused.get(r.hashKey)!;
      await storeFailure(ctx.db, [r.id], reason);
      Object.assign(r, { lastError: reason, failures: r.failures + 1, status: r.deleted ? 'DELETED' : r.entity ? 'FRESH' : 'MISSING' });
    }
    for (const { r, entity } of fetched) {
      Object.assign(r, {
        entity,
        deleted: false,
        fetchedAt: now,
        lastError: null,
        failures: 0,
        status: 'FRESH',
        stateAt: found.read.startedAt,
      });
    }
    for (const r of gone)
      Object.assign(r, { deleted: true, fetchedAt: now, lastError: message, status: 'DELETED', stateAt: found.read.startedAt });
    if (written < fetched.length + gone.length) overtaken.push(...fetched.map(({ r }) => r), ...gone);
  }
  if (!overtaken.length) return;
  const current = new Map(
    (
      await remoteRefsByIds(
        ctx.db,
        overtaken.map((r) => r.id),
      )
    ).map((r) => [r.id, r]),
  );
  for (const r of overtaken) {
    const now = current.get(r.id);
    if (now) Object.assign(r, now);
  }
  // A state read back is checked like any other cached copy.
  needsFetch(ctx, overtaken);
}
