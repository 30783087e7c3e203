import { chunks, placeholders } from '../../data/chunk.js';
import type { Sql } from '../../data/db.js';
import type { ResourceRow } from '../../data/entities.js';
import type { ResourceRecord } from '../resources/model.js';
import { RESOURCE_COLUMNS, toRecord } from '../resources/store.js';

/**
 * Every descendant of the given resources, one set query per level of the parent chain. With a
 * lock suffix the rows are locked as they are found, so a child created concurrently is either
 * seen here or refused because its parent is already marked.
 */
export async function descendantsOf(sql: Sql, rootIds: readonly string[], lock = ''): Promise<ResourceRecord[]> {
  const out: ResourceRecord[] = [];
  let frontier = [...rootIds];
  while (frontier.length) {
    const next: ResourceRecord[] = [];
    for (const c of chunks(frontier)) {
      const rows = await sql.query<ResourceRow>(
        `SELECT ${RESOURCE_COLUMNS}
         FROM resource WHERE parent_id IN (${placeholders(c.length)}) ORDER BY id${lock}`,
        c,
      );
      next.push(...rows.map(toRecord));
    }
    out.push(...next);
    frontier = next.map((r) => r.id);
  }
  return out;
}

/** Maps each resource to its ancestors among `records` (itself excluded). */
export function ancestorsWithin(records: readonly ResourceRecord[]): Map<string, string[]> {
  const byId = new Map(records.map((r) => [r.id, r]));
  const out = new Map<string, string[]>();
  for (const r of records) {
    const chain: string[] = [];
    for (let p = r.parentId; p && byId.has(p); p = byId.get(p)!.parentId) chain.push(p);
    out.set(r.id, chain);
  }
  return out;
}
