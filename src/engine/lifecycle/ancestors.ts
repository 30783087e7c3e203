import { placeholders, readInChunks } from '../../data/chunk.js';
import type { Sql } from '../../data/db.js';
import type { RefRow } from '../../data/entities.js';
import type { ReferenceRecord, ResourceRecord } from '../resources/model.js';
import { resourcesByIds, toReference } from '../resources/store.js';
import type { RelationshipSchema } from '../../model/model.js';

/**
 * The ancestor rule: an arbitrary reference to a resource holds its whole subtree back from
 * collection, unless the relationship schema says `holdsSubtree: false` for that reference.
 */

/** The references (kind + field) that do not hold their target's subtree. */
function nonHolding(schema: RelationshipSchema): { kind: string; field: string }[] {
  return [...schema.kinds.values()].flatMap((k) =>
    k.references.filter((r) => !r.holdsSubtree).map((r) => ({ kind: k.name, field: r.field })),
  );
}

/**
 * SQL over `f` (resource_ref) and `fr` (the referrer's resource row) that keeps the references
 * holding their target's subtree: arbitrary ones, less those the schema turned off.
 */
export function holdingSql(schema: RelationshipSchema): { join: string; where: string; params: unknown[] } {
  const off = nonHolding(schema);
  if (!off.length) return { join: '', where: `f.type = 'ARBITRARY'`, params: [] };
  const one = `(fr.kind = ? AND (f.path = ? OR SUBSTR(f.path, 1, ?) = ?))`;
  return {
    join: ' JOIN resource fr ON fr.id = f.from_id',
    where: `f.type = 'ARBITRARY' AND NOT (${off.map(() => one).join(' OR ')})`,
    params: off.flatMap((n) => [n.kind, n.field, n.field.length + 1, `${n.field}[`]),
  };
}

/** The deepest parent chain the schema allows (roots are 0): how many levels up an ancestor can be. */
export const maxDepth = (schema: RelationshipSchema) => Math.max(0, ...[...schema.kinds.values()].map((k) => k.depth));

/**
 * Each record's ancestors, nearest first, one set query per level of the parent chain. With a lock
 * suffix the ancestors are locked as they are found (a writer referring to one waits, or is seen).
 */
export async function ancestorsOf(sql: Sql, records: readonly ResourceRecord[], lock = ''): Promise<Map<string, string[]>> {
  const parentOf = new Map<string, string | null>(records.map((r) => [r.id, r.parentId]));
  let frontier = [...new Set(records.map((r) => r.parentId).filter((p): p is string => !!p && !parentOf.has(p)))];
  while (frontier.length) {
    const found = await resourcesByIds(sql, frontier, lock);
    for (const r of found) parentOf.set(r.id, r.parentId);
    frontier = [...new Set(found.map((r) => r.parentId).filter((p): p is string => !!p && !parentOf.has(p)))];
  }
  const out = new Map<string, string[]>();
  for (const r of records) {
    const chain: string[] = [];
    for (let p = r.parentId; p; p = parentOf.get(p) ?? null) chain.push(p);
    out.set(r.id, chain);
  }
  return out;
}

/** References that hold a subtree, into any of `ids`, with the referrer's kind. */
export async function holdingReferencesTo(
  sql: Sql,
  schema: RelationshipSchema,
  ids: readonly string[],
  lock = '',
): Promise<ReferenceRecord[]> {
  const h = holdingSql(schema);
  const rows = await readInChunks(ids, (c) =>
    sql.query<RefRow>(
      `SELECT f.from_id, f.path, f.to_id, f.type, f.created_at FROM resource_ref f${h.join}
       WHERE f.to_id IN (${placeholders(c.length)}) AND ${h.where} ORDER BY f.to_id, f.from_id, f.path${lock}`,
      [...c, ...h.params],
    ),
  );
  return rows.map(toReference);
}

/**
 * For each record, the references that hold one of its ancestors (and so the record): the
 * blockers the ancestor rule adds. A record's own references to its ancestors do not count.
 */
export async function ancestorBlockers(
  sql: Sql,
  schema: RelationshipSchema,
  records: readonly ResourceRecord[],
  lock = '',
): Promise<Map<string, ReferenceRecord[]>> {
  const chains = await ancestorsOf(sql, records, lock);
  const all = [...new Set([...chains.values()].flat())];
  const into = new Map<string, ReferenceRecord[]>();
  for (const ref of all.length ? await holdingReferencesTo(sql, schema, all, lock) : [])
    into.set(ref.toId, [...(into.get(ref.toId) ?? []), ref]);
  const out = new Map<string, ReferenceRecord[]>();
  for (const r of records)
    out.set(
      r.id,
      (chains.get(r.id) ?? []).flatMap((a) => into.get(a) ?? []).filter((ref) => ref.fromId !== r.id),
    );
  return out;
}
