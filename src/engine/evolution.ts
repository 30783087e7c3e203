import type { Db } from '../data/db.js';
import type { Logger } from '../logger.js';
import type { KindDef, RelationshipSchema } from '../model/model.js';
import { ContentRules } from './resources/content.js';

/**
 * The relationship schema against the data already stored, at start-up. Adding kinds, fields,
 * references and remote references needs nothing but a restart; what would orphan or misread
 * stored rows refuses to start (SchemaEvolutionError, naming kind, count and what to do):
 * a removed kind that still has resources, a changed parent or identity, a removed (or
 * retargeted) reference or remote reference that rows still use. A changed field type is
 * reported (the documents that no longer validate) and the documents keep being served.
 */

export class SchemaEvolutionError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file} does not match the data already stored:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'SchemaEvolutionError';
  }
}

export interface InvalidDocuments {
  kind: string;
  count: number;
  /** The first few, for the report. */
  ids: string[];
  firstProblem: string;
}

const SCAN_PAGE = 500;
const REPORTED_IDS = 20;
/** `clusters[3]` → `clusters`: the field a stored reference path belongs to. */
const fieldOfPath = (path: string) => path.replace(/\[\d+\]$/, '');

export async function checkStoredData(db: Db, schema: RelationshipSchema, log?: Logger): Promise<InvalidDocuments[]> {
  const problems: string[] = [];
  const count = (n: unknown) => Number(n);
  const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

  // Kinds and parents as stored.
  const parents = await db.query<{ kind: string; parent_kind: string | null; n: number | string }>(
    'SELECT r.kind AS kind, p.kind AS parent_kind, COUNT(*) AS n FROM resource r LEFT JOIN resource p ON p.id = r.parent_id GROUP BY r.kind, p.kind',
  );
  const present = new Set<string>();
  for (const row of parents) {
    const n = count(row.n);
    present.add(row.kind);
    const kind = schema.kinds.get(row.kind);
    if (!kind) {
      problems.push(
        `kind ${row.kind} has ${plural(n, 'stored resource')} but no entry defines it any more: restore its entry (or mark them for deletion and collect them before removing it)`,
      );
    } else if ((row.parent_kind ?? null) !== kind.parent) {
      problems.push(
        `kind ${row.kind}: ${plural(n, 'stored resource')} ${n === 1 ? 'has' : 'have'} ${row.parent_kind ? `parent kind ${row.parent_kind}` : 'no parent'}, but its entry says ${kind.parent ? `parent ${kind.parent}` : 'no parent'}: restore "parent" (a kind's parent cannot change while it has resources)`,
      );
    }
  }

  // Identity: one stored document per kind shows the identity fields it was written with.
  for (const kind of schema.kinds.values()) {
    if (!present.has(kind.name)) continue;
    const [row] = await db.query<{ natural_key: string; content: string }>(
      'SELECT natural_key, content FROM resource WHERE kind = ? ORDER BY id LIMIT 1',
      [kind.name],
    );
    if (!row) continue;
    const key = JSON.parse(row.natural_key) as string[];
    const content = JSON.parse(row.content) as Record<string, unknown>;
    const matches = key.length === kind.identity.length && kind.identity.every((f, i) => content[f] === key[i]);
    if (!matches) {
      const [{ n }] = await db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM resource WHERE kind = ?', [kind.name]);
      problems.push(
        `kind ${kind.name}: its ${plural(count(n), 'stored resource')} ${count(n) === 1 ? 'was' : 'were'} written with another identity than ${JSON.stringify(kind.identity)} (a renamed "key" of a parent, or another parent chain): restore the identity`,
      );
    }
  }

  // References in use: each must still be a reference of its kind, to the same kind.
  const refs = await db.query<{ kind: string; path: string; target: string; n: number | string }>(
    "SELECT r.kind AS kind, f.path AS path, t.kind AS target, COUNT(*) AS n FROM resource_ref f JOIN resource r ON r.id = f.from_id JOIN resource t ON t.id = f.to_id WHERE f.type = 'ARBITRARY' GROUP BY r.kind, f.path, t.kind",
  );
  const refUse = new Map<string, { target: string; n: number }>();
  for (const row of refs) {
    const k = `${row.kind}|${fieldOfPath(row.path)}|${row.target}`;
    const seen = refUse.get(k);
    refUse.set(k, { target: row.target, n: (seen?.n ?? 0) + count(row.n) });
  }
  for (const [k, { target, n }] of refUse) {
    const [kindName, field] = k.split('|');
    const kind = schema.kinds.get(kindName);
    if (!kind) continue; // reported above
    const ref = kind.references.find((r) => r.field === field);
    if (!ref) {
      problems.push(
        `kind ${kindName}: ${plural(n, 'stored reference')} in "${field}" (to ${target}) but its entry has no reference "${field}" any more: restore it, or update those documents to drop it first`,
      );
    } else if (ref.kind !== target) {
      problems.push(
        `kind ${kindName}: ${plural(n, 'stored reference')} in "${field}" point at ${target}, but the entry says ${ref.kind}: restore "kind" of that reference`,
      );
    }
  }

  // Remote references in use.
  const links = await db.query<{ kind: string; path: string; entity_type: string; n: number | string }>(
    'SELECT r.kind AS kind, l.path AS path, x.entity_type AS entity_type, COUNT(*) AS n FROM remote_link l JOIN resource r ON r.id = l.resource_id JOIN remote_ref x ON x.id = l.remote_ref_id GROUP BY r.kind, l.path, x.entity_type',
  );
  for (const row of links) {
    const kind = schema.kinds.get(row.kind);
    if (!kind) continue;
    const rr = kind.remoteReferences.find((r) => r.field === row.path);
    const n = count(row.n);
    if (!rr) {
      problems.push(
        `kind ${row.kind}: ${plural(n, 'stored remote reference')} in "${row.path}" (to ${row.entity_type}) but its entry has no remote reference "${row.path}" any more: restore it, or update those documents to drop it first`,
      );
    } else if (rr.type !== row.entity_type) {
      problems.push(
        `kind ${row.kind}: ${plural(n, 'stored remote reference')} in "${row.path}" point at ${row.entity_type}, but the entry says ${rr.type}: restore its "type"`,
      );
    }
  }

  if (problems.length) throw new SchemaEvolutionError(schema.file, problems);
  const invalid = await invalidDocuments(db, schema, present);
  for (const i of invalid) {
    log?.warn(
      { kind: i.kind, count: i.count, ids: i.ids, problem: i.firstProblem },
      `${plural(i.count, `stored ${i.kind}`)} no longer validate against the relationship schema (a changed field type?); they are served as stored, and their next update must fix them`,
    );
  }
  return invalid;
}

/** Every stored document checked against its kind's JSON Schema now, page by page. */
async function invalidDocuments(db: Db, schema: RelationshipSchema, present: ReadonlySet<string>): Promise<InvalidDocuments[]> {
  const rules = new ContentRules(schema);
  const out: InvalidDocuments[] = [];
  for (const kind of schema.kinds.values()) {
    if (!present.has(kind.name)) continue;
    const found = await scanKind(db, rules, kind);
    if (found) out.push(found);
  }
  return out;
}

async function scanKind(db: Db, rules: ContentRules, kind: KindDef): Promise<InvalidDocuments | null> {
  let after = '';
  let found: InvalidDocuments | null = null;
  for (;;) {
    const rows = await db.query<{ id: string; content: string }>(
      'SELECT id, content FROM resource WHERE kind = ? AND id > ? ORDER BY id LIMIT ?',
      [kind.name, after, SCAN_PAGE],
    );
    for (const row of rows) {
      try {
        rules.validate(kind, JSON.parse(row.content) as Record<string, unknown>);
      } catch (e) {
        found ??= { kind: kind.name, count: 0, ids: [], firstProblem: (e as Error).message };
        found.count++;
        if (found.ids.length < REPORTED_IDS) found.ids.push(row.id);
      }
    }
    if (rows.length < SCAN_PAGE) return found;
    after = rows[rows.length - 1].id;
  }
}
