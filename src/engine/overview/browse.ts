import type { Sql } from '../../data/db.js';
import type { ResourceRow } from '../../data/entities.js';
import { RESOURCE_COLUMNS, toRecord } from '../resources/store.js';
import type { ResourceRecord } from '../resources/model.js';
import type { SqlCondition } from '../resources/tenancy.js';

export interface BrowseOptions {
  first: number;
  after?: string | null;
  status?: string | null;
  /** A piece of the natural key as the API writes it (names joined by '/'), matched case-sensitively. */
  search?: string | null;
}

/**
 * The natural key is stored as a JSON array of names; the text people type joins them by '/'.
 * The search becomes the stored form's substring: `web/std` → `web","std`.
 */
export function storedKeyFragment(search: string): string {
  return search
    .split('/')
    .map((part) => JSON.stringify(part).slice(1, -1))
    .join('","');
}

/** A page of one kind in id order, narrowed by status and by a piece of the natural key, under the caller's tenancy condition. */
export async function browseResources(sql: Sql, kind: string, options: BrowseOptions, only: SqlCondition): Promise<ResourceRecord[]> {
  const where = ['kind = ?'];
  const params: unknown[] = [kind];
  if (only.sql) {
    where.push(only.sql.replace(/^ AND /, ''));
    params.push(...only.params);
  }
  if (options.status) {
    where.push('status = ?');
    params.push(options.status);
  }
  if (options.search) {
    // Byte-wise on both stores (natural_key is binary on MariaDB; instr is case-sensitive on SQLite).
    where.push(sql.kind === 'sqlite' ? 'instr(natural_key, ?) > 0' : 'LOCATE(?, natural_key) > 0');
    params.push(storedKeyFragment(options.search));
  }
  if (options.after) {
    where.push('id > ?');
    params.push(options.after);
  }
  params.push(options.first);
  const rows = await sql.query<ResourceRow>(
    `SELECT ${RESOURCE_COLUMNS} FROM resource WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`,
    params,
  );
  return rows.map(toRecord);
}
