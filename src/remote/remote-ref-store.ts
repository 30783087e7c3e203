import { chunks, placeholders, readInChunks } from '../data/chunk.js';
import type { Sql } from '../data/db.js';
import type { RemoteRefRow } from '../data/entities.js';
import type { Timestamp } from '../data/time.js';
import { groupBy } from '../util/group-by.js';
import type { RemoteKey } from './hash.js';
import type { SourcePosition } from './position.js';
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
  /** Where in the store's history the cached state comes from (src/remote/position.ts). */
  position: SourcePosition | null;
}

export const REMOTE_COLUMNS =
  'id, entity_type, remote_hash_key, remote_key_payload, cached_entity, deleted, fetched_at, last_error, failures, created_at, source_position';

export function toRemoteRecord(row: RemoteRefRow): RemoteRefRecord {
  const entity = row.cached_entity === null ? null : (JSON.parse(row.cached_entity) as RemoteEntity);
  const deleted = Number(row.deleted) === 1;
  return {
    id: row.id,
    entityType: row.entity_type,
    hashKey: row.remote_hash_key,
    key: JSON.parse(row.remote_key_payload) as RemoteKey,
    entity,
    deleted,
    fetchedAt: row.fetched_at,
    lastError: row.last_error,
    failures: Number(row.failures),
    status: deleted ? 'DELETED' : entity ? 'FRESH' : 'MISSING',
    position: row.source_position ?? null,
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
export async function remoteRefsByIds(sql: Sql, ids: readonly string[], only: { sql: string; params: unknown[] } = { sql: '', params: [] }): Promise<RemoteRefRecord[]> {
  const linked = only.sql
    ? ` AND EXISTS (SELECT 1 FROM remote_link l JOIN resource ON resource.id = l.resource_id WHERE l.remote_ref_id = remote_ref.id${only.sql})`
    : '';
  const rows = await readInChunks(ids, (c) =>
    sql.query<RemoteRefRow>(`SELECT ${REMOTE_COLUMNS} FROM remote_ref WHERE id IN (${placeholders(c.length)})${linked}`, [...c, ...only.params]),
  );
  return rows.map(toRemoteRecord);
}

/** Only a state newer than the row's: the compare-and-set every write-back goes through. */
export const NEWER_THAN_ROW = '(source_position IS NULL OR source_position < ?)';

/**
 * Refills cached entities of many rows with one statement per chunk, as read at `position`: a row
 * that already reflects a newer state (a change event, another replica's read) keeps it.
 * Returns the ids actually written.
 */
export async function storeFetched(
  sql: Sql,
  fetched: readonly { id: string; entity: RemoteEntity }[],
  now: Timestamp,
  position: SourcePosition,
): Promise<number> {
  let written = 0;
  for (const c of chunks(fetched, 200)) {
    if (!c.length) continue;
    written += await sql.execute(
      `UPDATE remote_ref SET cached_entity = CASE id ${c.map(() => 'WHEN ? THEN ?').join(' ')} END,
         deleted = 0, fetched_at = ?, last_error = NULL, failures = 0, source_position = ?
       WHERE id IN (${placeholders(c.length)}) AND ${NEWER_THAN_ROW}`,
      [...c.flatMap((f) => [f.id, JSON.stringify(f.entity)]), now, position, ...c.map((f) => f.id), position],
    );
  }
  return written;
}

/** The store no longer had these at `position`: keep the last copy, flag it deleted (unless the row knows better). */
export async function storeGone(sql: Sql, ids: readonly string[], now: Timestamp, message: string, position: SourcePosition): Promise<number> {
  let written = 0;
  for (const c of chunks(ids)) {
    if (!c.length) continue;
    written += await sql.execute(
      `UPDATE remote_ref SET deleted = 1, fetched_at = ?, last_error = ?, source_position = ? WHERE id IN (${placeholders(c.length)}) AND ${NEWER_THAN_ROW}`,
      [now, message, position, ...c, position],
    );
  }
  return written;
}

/** These rows were checked at `now`, whatever was written (the sweep's progress). */
export async function touchChecked(sql: Sql, ids: readonly string[], now: Timestamp): Promise<void> {
  for (const c of chunks(ids)) {
    if (!c.length) continue;
    await sql.execute(`UPDATE remote_ref SET fetched_at = ? WHERE id IN (${placeholders(c.length)}) AND (fetched_at IS NULL OR fetched_at < ?)`, [now, ...c, now]);
  }
}

/** A fetch failed: remember why; the cached copy (if any) stays. */
export async function storeFailure(sql: Sql, ids: readonly string[], message: string): Promise<void> {
  for (const c of chunks(ids)) {
    if (!c.length) continue;
    await sql.execute(
      `UPDATE remote_ref SET last_error = ?, failures = failures + 1 WHERE id IN (${placeholders(c.length)})`,
      [message.slice(0, 2000), ...c],
    );
  }
}

export type LinkedRemoteRow = RemoteRefRow & { resource_id: string; path: string };

/** The remote LEFT JOIN's local half: every remote_ref row the given documents link to, with the link. */
export async function linkedRemoteRows(sql: Pick<Sql, 'query'>, resourceIds: readonly string[], lock = ''): Promise<LinkedRemoteRow[]> {
  const columns = REMOTE_COLUMNS.split(', ').map((c) => `r.${c}`).join(', ');
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
