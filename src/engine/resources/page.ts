import type { Db, Sql } from '../../data/db.js';
import type { ResourceRow } from '../../data/entities.js';
import { keysUnder } from './key-range.js';
import type { ResourceRecord } from './model.js';
import { EVERYTHING, RESOURCE_COLUMNS, RESOURCE_WIDTH, toRecord, toRecordFromValues } from './store.js';
import type { SqlCondition } from './tenancy.js';

/**
 * A page of one kind in id order, and what a list reads with it in the same statements: the
 * page's remote links and their remote_ref rows, and its outgoing references. Every statement is
 * built on `pageOf`, so the page (with the caller's tenancy condition) is defined in one place.
 */

export interface PageOptions {
  first: number;
  after?: string | null;
  /** Natural keys that start with these identity values. */
  keyPrefix?: string[];
  /**
   * Only rows after `after` when `after` is a resource of this list (kind and prefix), none
   * otherwise: a plain list's `after` is an id it handed out, and an empty page then tells the
   * caller to look why (src/engine/engine.ts). Checked in the page's own statement.
   */
  afterInList?: boolean;
}

const escapeLike = (s: string) => s.replace(/[!%_]/g, (m) => `!${m}`);

/**
 * The page's filter on `resource` and its parameters, LIMIT last. `only` is the caller's tenancy
 * condition (`AND …` on the row named `resource`): a page never holds a row the caller may not read.
 */
function pageFilter(kind: string, options: PageOptions, only: SqlCondition): { where: string; params: unknown[] } {
  const where = ['kind = ?'];
  const params: unknown[] = [kind];
  if (only.sql) {
    where.push(only.sql.replace(/^ AND /, ''));
    params.push(...only.params);
  }
  if (options.keyPrefix?.length) {
    const under = keysUnder('natural_key', options.keyPrefix);
    where.push(under.sql);
    params.push(...under.params);
  }
  if (options.after) {
    where.push('id > ?');
    params.push(options.after);
    if (options.afterInList) {
      const under = options.keyPrefix?.length ? keysUnder('a.natural_key', options.keyPrefix) : null;
      where.push(`EXISTS (SELECT 1 FROM resource a WHERE a.id = ? AND a.kind = ?${under ? ` AND ${under.sql}` : ''})`);
      params.push(options.after, kind, ...(under?.params ?? []));
    }
  }
  params.push(options.first);
  return { where: where.join(' AND '), params };
}

const pageOf = (columns: string, kind: string, options: PageOptions, only: SqlCondition) => {
  const { where, params } = pageFilter(kind, options, only);
  return { sql: `SELECT ${columns} FROM resource WHERE ${where} ORDER BY id LIMIT ?`, params };
};

/**
 * A page of one kind, in id order; `keyPrefix` narrows to natural keys that start with these
 * identity values. `columns`: RESOURCE_COLUMNS, or fewer with NULL in place of the others (columnsFor).
 */
export async function listResources(
  sql: Sql,
  kind: string,
  options: PageOptions,
  only = EVERYTHING,
  columns = RESOURCE_COLUMNS,
): Promise<ResourceRecord[]> {
  const page = pageOf(columns, kind, options, only);
  return (await sql.query<ResourceRow>(page.sql, page.params)).map(toRecord);
}

/** How many resources of a kind the list would hold over all its pages (the caller's tenancy condition applied). */
export async function countResources(sql: Sql, kind: string, keyPrefix: string[] | undefined, only = EVERYTHING): Promise<number> {
  const { where, params } = pageFilter(kind, { first: 0, keyPrefix }, only);
  // pageFilter ends with LIMIT's parameter; a count has no LIMIT.
  const rows = await sql.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM resource WHERE ${where}`, params.slice(0, -1));
  return Number(rows[0].n);
}

export interface PageLink {
  resourceId: string;
  path: string;
  remoteRefId: string;
}

/** What a list reads with its page: remote references, and references in these fields. */
export interface PageWants {
  remote: boolean;
  references: readonly { field: string; list: boolean }[];
  /** The resource columns to read: RESOURCE_COLUMNS, or fewer with NULL in place of the others (columnsFor). */
  columns: string;
}

export interface PageRead {
  records: ResourceRecord[];
  /** The page's remote links (when wanted), and the remote_ref ids they link to, each once. */
  links: PageLink[];
  remoteIds: string[];
  /** The page's references in the wanted fields, by referrer: [path, target id]. */
  references: Map<string, [path: string, toId: string][]>;
}

/** `path = ?` for a single reference field, `path LIKE 'field[%'` for a list; ESCAPE '!'. */
function pathFilter(fields: readonly { field: string; list: boolean }[]): { sql: string; params: string[] } {
  return {
    sql: `(${fields.map((f) => (f.list ? `f.path LIKE ? ESCAPE '!'` : 'f.path = ?')).join(' OR ')})`,
    params: fields.map((f) => (f.list ? `${escapeLike(f.field)}[%` : f.field)),
  };
}

/**
 * A page with what its list reads; rows come as arrays (no object per row) and no statement grows
 * with the page (IN lists are chunked as everywhere). The remote LEFT JOIN: the page LEFT JOIN its
 * remote links; the caller then reads the linked remote_ref rows, each once, by id (at the same
 * time as the references' targets, src/engine/loaders.ts). Joining remote_ref to every
 * page row repeated each cached entity once per referrer (1,000 rows for 200 owners): it cost a
 * third more time on SQLite and three times the client CPU on MariaDB (bench/, issue 13).
 *
 * The wanted references come on SQLite as a JSON array per resource from a correlated subquery
 * ([[path, target id], ...]), which SQLite answers from a covering index; on MySQL/MariaDB, where
 * that dependent subquery doubled the page statement's time, from a statement over the same page
 * sent at the same time on another connection. The references' targets are not read here: the
 * caller reads them through its tenancy-filtered resource loader.
 */
export async function readPage(db: Db, kind: string, options: PageOptions, wants: PageWants, only = EVERYTHING): Promise<PageRead> {
  const page = pageOf(wants.columns, kind, options, only);
  const aggregated = wants.references.length > 0 && db.kind === 'sqlite';
  const columns = ['p.*'];
  const params: unknown[] = [];
  let refsAside: Promise<unknown[][]> | null = null;
  if (wants.references.length) {
    const paths = pathFilter(wants.references);
    if (aggregated) {
      columns.push(`(SELECT json_group_array(json_array(f.path, f.to_id)) FROM resource_ref f WHERE f.from_id = p.id AND ${paths.sql})`);
      params.push(...paths.params);
    } else {
      const ids = pageOf('id', kind, options, only);
      refsAside = db.queryValues(
        `SELECT f.from_id, f.path, f.to_id FROM (${ids.sql}) p JOIN resource_ref f ON f.from_id = p.id WHERE ${paths.sql}`,
        [...ids.params, ...paths.params],
      );
      // Awaited below; a failure here must not go unhandled while the page statement runs.
      refsAside.catch(() => undefined);
    }
  }
  if (wants.remote) columns.push('l.path', 'l.remote_ref_id');
  const joins = wants.remote ? ' LEFT JOIN remote_link l ON l.resource_id = p.id' : '';
  const rows = await db.queryValues(`SELECT ${columns.join(', ')} FROM (${page.sql}) p${joins} ORDER BY p.id`, [...params, ...page.params]);
  const linkAt = RESOURCE_WIDTH + (aggregated ? 1 : 0);
  const read: PageRead = { records: [], links: [], remoteIds: [], references: new Map() };
  const remoteIds = new Set<string>();
  for (const row of rows) {
    const id = row[0] as string;
    if (read.records[read.records.length - 1]?.id !== id) {
      read.records.push(toRecordFromValues(row));
      if (aggregated) read.references.set(id, JSON.parse(row[RESOURCE_WIDTH] as string) as [string, string][]);
    }
    if (!wants.remote) continue;
    const path = row[linkAt] as string | null;
    const remoteRefId = row[linkAt + 1] as string | null;
    if (path === null || remoteRefId === null) continue;
    read.links.push({ resourceId: id, path, remoteRefId });
    remoteIds.add(remoteRefId);
  }
  read.remoteIds = [...remoteIds];
  if (refsAside) {
    for (const [fromId, path, toId] of (await refsAside) as [string, string, string][]) {
      let refs = read.references.get(fromId);
      if (!refs) {
        refs = [];
        read.references.set(fromId, refs);
      }
      refs.push([path, toId]);
    }
  }
  return read;
}
