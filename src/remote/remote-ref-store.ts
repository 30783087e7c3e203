import { chunks, placeholders, readInChunks } from '../data/chunk.js';
import type { Sql } from '../data/db.js';
import type { RemoteRefRow } from '../data/entities.js';
import type { Timestamp } from '../data/time.js';
import { groupBy } from '../util/group-by.js';
import type { RemoteKey } from './hash.js';
import type { RemoteEntity } from './sources/source.js';

/** SQL over the remote_ref cache. */

export type RemoteRefStatus = 'FRESH' | 'DELETED' | 'MISSING';

export interface RemoteRefRecord {
  id: string;
  entityType: string;
  hashKey: string;
  key: RemoteKey;
  entity: RemoteEntity | null;
  deleted: boolean;
  fetchedAt: Timestamp | null;
  lastError: string | null;
  failures: number;
  status: RemoteRefStatus;
  /** The newest change event the row took, on the feed's clock `clock` (src/remote/position.ts). */
  position: string | null;
  clock: string | null;
  /** The operational store's clock when the row's state was established: what refetches are ordered by. */
  stateAt: Timestamp | null;
}

export const REMOTE_COLUMNS =
  'id, entity_type, remote_hash_key, remote_key_payload, cached_entity, deleted, fetched_at, last_error, failures, created_at, source_position, source_clock, state_at';

/** The cached copy as stored; a copy that is not a JSON object of texts is no copy (MISSING, with why). */
function parseCached(text: string | null): { entity: RemoteEntity | null; problem: string | null } {
  if (text === null) return { entity: null, problem: null };
  try {
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return { entity: null, problem: 'the cached copy is not an object' };
    for (const [field, value] of Object.entries(v)) {
      // Scalars only; whether each fits its field's declared type is entity-check's to say.
      if (value !== null && typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        return { entity: null, problem: `the cached copy's ${field} is not a scalar` };
      }
    }
    return { entity: v as RemoteEntity, problem: null };
  } catch {
    return { entity: null, problem: 'the cached copy is not JSON' };
  }
}

export function toRemoteRecord(row: RemoteRefRow): RemoteRefRecord {
  const { entity, problem } = parseCached(row.cached_entity);
  const deleted = Number(row.deleted) === 1;
  return {
    id: row.id,
    entityType: row.entity_type,
    hashKey: row.remote_hash_key,
    key: JSON.parse(row.remote_key_payload) as RemoteKey,
    entity,
    deleted,
    fetchedAt: row.fetched_at,
    lastError: problem ?? row.last_error,
    failures: Number(row.failures),
    status: deleted ? 'DELETED' : entity ? 'FRESH' : 'MISSING',
    position: row.source_position ?? null,
    clock: row.source_clock ?? null,
    stateAt: row.state_at ?? null,
  };
}

export async function remoteRefsByHash(sql: Sql, entityType: string, hashes: readonly string[], lock = ''): Promise<RemoteRefRecord[]> {
  const rows = await readInChunks(hashes, (c) =>
    sql.query<RemoteRefRow>(
      `SELECT ${REMOTE_COLUMNS} FROM remote_ref WHERE entity_type = ? AND remote_hash_key IN (${placeholders(c.length)})${lock}`,
      [entityType, ...c],
    ),
  );
  return rows.map(toRemoteRecord);
}

/** Rows by id; with a tenancy condition (`AND …` on `resource`), only rows some resource the caller may read links to. */
export async function remoteRefsByIds(
  sql: Sql,
  ids: readonly string[],
  only: { sql: string; params: unknown[] } = { sql: '', params: [] },
): Promise<RemoteRefRecord[]> {
  const linked = only.sql
    ? ` AND EXISTS (SELECT 1 FROM remote_link l JOIN resource ON resource.id = l.resource_id WHERE l.remote_ref_id = remote_ref.id${only.sql})`
    : '';
  const rows = await readInChunks(ids, (c) =>
    sql.query<RemoteRefRow>(`SELECT ${REMOTE_COLUMNS} FROM remote_ref WHERE id IN (${placeholders(c.length)})${linked}`, [
      ...c,
      ...only.params,
    ]),
  );
  return rows.map(toRemoteRecord);
}

/**
 * A read of a store, placed on the operational store's clock: `startedAt` was read before the
 * remote call, so everything written to a row before it is no newer than what the read saw.
 * `horizon`: a row state dated after it is not from this clock's past (the clock was set back):
 * it holds nothing back.
 */
export interface ReadMark {
  startedAt: Timestamp;
  horizon: Timestamp;
}

/** The compare-and-set every refetch write goes through: only over a state established before the read began. */
export const STATE_BEFORE_READ = '(state_at IS NULL OR state_at < ? OR state_at > ?)';
export const stateParams = (read: ReadMark) => [read.startedAt, read.horizon];

/** Whether a row's state (as loaded) was established before the read began. */
export const stateBeforeRead = (row: Pick<RemoteRefRecord, 'stateAt'>, read: ReadMark) =>
  row.stateAt === null || row.stateAt < read.startedAt || row.stateAt > read.horizon;

/**
 * Refills cached entities of many rows with one statement per chunk, as read at `read`: a row
 * whose state was established since the read began (a change event, another replica's read)
 * keeps it. Returns the number of rows written.
 */
export async function storeFetched(
  sql: Sql,
  fetched: readonly { id: string; entity: RemoteEntity }[],
  now: Timestamp,
  read: ReadMark,
): Promise<number> {
  let written = 0;
  for (const c of chunks(fetched, 200)) {
    if (!c.length) continue;
    written += await sql.execute(
      `UPDATE remote_ref SET cached_entity = CASE id ${c.map(() => 'WHEN ? THEN ?').join(' ')} END,
         deleted = 0, fetched_at = ?, last_error = NULL, failures = 0, state_at = ?
       WHERE id IN (${placeholders(c.length)}) AND ${STATE_BEFORE_READ}`,
      [...c.flatMap((f) => [f.id, JSON.stringify(f.entity)]), now, read.startedAt, ...c.map((f) => f.id), ...stateParams(read)],
    );
  }
  return written;
}

/** The store no longer had these when read: keep the last copy, flag it deleted (unless the row knows better). */
export async function storeGone(sql: Sql, ids: readonly string[], now: Timestamp, message: string, read: ReadMark): Promise<number> {
  let written = 0;
  for (const c of chunks(ids)) {
    if (!c.length) continue;
    written += await sql.execute(
      `UPDATE remote_ref SET deleted = 1, fetched_at = ?, last_error = ?, state_at = ? WHERE id IN (${placeholders(c.length)}) AND ${STATE_BEFORE_READ}`,
      [now, message, read.startedAt, ...c, ...stateParams(read)],
    );
  }
  return written;
}

/** A fetch failed: remember why; the cached copy (if any) stays. */
export async function storeFailure(sql: Sql, ids: readonly string[], message: string): Promise<void> {
  for (const c of chunks(ids)) {
    if (!c.length) continue;
    await sql.execute(`UPDATE remote_ref SET last_error = ?, failures = failures + 1 WHERE id IN (${placeholders(c.length)})`, [
      message.slice(0, 2000),
      ...c,
    ]);
  }
}

export type LinkedRemoteRow = RemoteRefRow & { resource_id: string; path: string };

/** The remote LEFT JOIN's local half: every remote_ref row the given documents link to, with the link. */
export async function linkedRemoteRows(sql: Pick<Sql, 'query'>, resourceIds: readonly string[], lock = ''): Promise<LinkedRemoteRow[]> {
  const columns = REMOTE_COLUMNS.split(', ')
    .map((c) => `r.${c}`)
    .join(', ');
  return readInChunks(resourceIds, (c) =>
    sql.query<LinkedRemoteRow>(
      `SELECT l.resource_id, l.path, ${columns} FROM remote_link l JOIN remote_ref r ON r.id = l.remote_ref_id
       WHERE l.resource_id IN (${placeholders(c.length)})${lock}`,
      c,
    ),
  );
}

export interface TypedHash {
  entityType: string;
  hashKey: string;
}

/** `(entity_type = ? AND remote_hash_key IN (…)) OR …` for one chunk of keys of any types. */
function typedHashWhere(keys: readonly TypedHash[], alias: string): { where: string; params: string[] } {
  const params: string[] = [];
  const where = [...groupBy(keys, (k) => k.entityType)]
    .map(([type, group]) => {
      params.push(type, ...group.map((k) => k.hashKey));
      return `(${alias}entity_type = ? AND ${alias}remote_hash_key IN (${placeholders(group.length)}))`;
    })
    .join(' OR ');
  return { where, params };
}

/** Cache rows of remote entities of any types by key hash: one statement per chunk of keys. */
export async function remoteRefsByTypedHashes(sql: Pick<Sql, 'query'>, keys: readonly TypedHash[]): Promise<RemoteRefRecord[]> {
  const out: RemoteRefRecord[] = [];
  for (const c of chunks(keys)) {
    if (!c.length) continue;
    const { where, params } = typedHashWhere(c, '');
    out.push(...(await sql.query<RemoteRefRow>(`SELECT ${REMOTE_COLUMNS} FROM remote_ref WHERE ${where}`, params)).map(toRemoteRecord));
  }
  return out;
}

export interface RemoteReferrerRow {
  entity_type: string;
  remote_hash_key: string;
  resource_id: string;
  path: string;
}

/** The document fields that link to these remote entities, in resource and path order. */
export async function remoteReferrers(
  sql: Pick<Sql, 'query'>,
  keys: readonly TypedHash[],
  only: { sql: string; params: unknown[] } = { sql: '', params: [] },
): Promise<RemoteReferrerRow[]> {
  const out: RemoteReferrerRow[] = [];
  for (const c of chunks(keys)) {
    if (!c.length) continue;
    const { where, params } = typedHashWhere(c, 'r.');
    // `only` (the caller's tenancy, on the referrer's row aliased `resource`) keeps other projects' documents out.
    out.push(
      ...(await sql.query<RemoteReferrerRow>(
        `SELECT r.entity_type, r.remote_hash_key, l.resource_id, l.path FROM remote_ref r JOIN remote_link l ON l.remote_ref_id = r.id
         ${only.sql ? 'JOIN resource ON resource.id = l.resource_id ' : ''}WHERE ${where}${only.sql} ORDER BY l.resource_id, l.path`,
        [...params, ...only.params],
      )),
    );
  }
  return out;
}
