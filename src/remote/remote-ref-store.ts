import { chunks, placeholders, readInChunks } from '../data/chunk.js';
import type { Sql } from '../data/db.js';
import type { RemoteRefRow } from '../data/entities.js';
import type { Timestamp } from '../data/time.js';
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
}

export const REMOTE_COLUMNS =
  'id, entity_type, remote_hash_key, remote_key_payload, cached_entity, deleted, fetched_at, last_error, failures, created_at';

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

/**
 * Refills cached entities of many rows with one statement per chunk. With `onlyEvicted`, a row a
 * change event refreshed or flagged since the fetch began keeps what the event wrote.
 */
export async function storeFetched(
  sql: Sql,
  fetched: readonly { id: string; entity: RemoteEntity }[],
  now: Timestamp,
  options: { onlyEvicted?: boolean } = {},
): Promise<void> {
  for (const c of chunks(fetched, 200)) {
    if (!c.length) continue;
    await sql.execute(
      `UPDATE remote_ref SET cached_entity = CASE id ${c.map(() => 'WHEN ? THEN ?').join(' ')} END,
         deleted = 0, fetched_at = ?, last_error = NULL, failures = 0
       WHERE id IN (${placeholders(c.length)})${options.onlyEvicted ? ' AND cached_entity IS NULL AND deleted = 0' : ''}`,
      [...c.flatMap((f) => [f.id, JSON.stringify(f.entity)]), now, ...c.map((f) => f.id)],
    );
  }
}

/** The store no longer has these: keep the last copy, flag it deleted. */
export async function storeGone(sql: Sql, ids: readonly string[], now: Timestamp, message: string): Promise<void> {
  for (const c of chunks(ids)) {
    if (!c.length) continue;
    await sql.execute(
      `UPDATE remote_ref SET deleted = 1, fetched_at = ?, last_error = ? WHERE id IN (${placeholders(c.length)})`,
      [now, message, ...c],
    );
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
export async function linkedRemoteRows(sql: Pick<Sql, 'query'>, resourceIds: readonly string[]): Promise<LinkedRemoteRow[]> {
  const columns = REMOTE_COLUMNS.split(', ').map((c) => `r.${c}`).join(', ');
  return readInChunks(resourceIds, (c) =>
    sql.query<LinkedRemoteRow>(
      `SELECT l.resource_id, l.path, ${columns} FROM remote_link l JOIN remote_ref r ON r.id = l.remote_ref_id
       WHERE l.resource_id IN (${placeholders(c.length)})`,
      c,
    ),
  );
}
