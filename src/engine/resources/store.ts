import { chunks, placeholders, readInChunks } from '../../data/chunk.js';
import type { Sql } from '../../data/db.js';
import type { HistoryRow, RefRow, ResourceRow } from '../../data/entities.js';
import type { Timestamp } from '../../data/time.js';
import type { KindDef } from '../../model/model.js';
import type { Content, ReferenceRecord, ResourceRecord, VersionRecord } from './model.js';
import type { SqlCondition } from './tenancy.js';

/**
 * SQL over the resource, history and reference-index tables. Every list of ids is chunked. Reads
 * that answer callers take `only`: the caller's tenancy condition on the `resource` row (or on the
 * referrer's row), so what a caller may not see never leaves the database.
 */

export const RESOURCE_COLUMNS =
  'id, kind, natural_key, name, parent_id, content, version, status, created_at, updated_at, marked_at, delete_after, mark_id, marked_by';

/** The record field each column answers, for the fields that read one column only. */
/** Fields answered from the id alone (through loaders or what the page read), or from the row's own columns. */
const WITHOUT_CONTENT = new Set([
  '__typename',
  'id',
  'kind',
  'name',
  'naturalKey',
  'version',
  'status',
  'createdAt',
  'updatedAt',
  'markedForDeletionAt',
  'markedForDeletionBy',
  'deleteAfter',
  'referencedBy',
  'history',
  'asOf',
  'approval',
]);

/** Every resource column but the document: what a list reads when no field of its items needs the document. */
const ALL_BUT_CONTENT = RESOURCE_COLUMNS.split(', ')
  .map((c) => (c === 'content' ? 'NULL AS content' : c))
  .join(', ');

/**
 * The resource columns a list reads for the fields its items are asked for: every column but the
 * document (NULL in its place, rows keep their shape) when no field needs it, so a list of names
 * and owners neither reads nor decodes documents. `complete` is false for such rows: their records
 * answer every field but the content (reading it throws). Every other column is read, so that a
 * later read of the same resource in the request can be answered as this one saw it (Loaders: the
 * version tells which document that was). A field this does not know (a body field like
 * `description`, a children list) reads every column.
 */
export function columnsFor(kind: KindDef, fields: ReadonlySet<string>): { columns: string; complete: boolean } {
  const parentField = kind.parent ? kind.identity[kind.identity.length - 2] : null;
  const related = new Set([...kind.references.map((r) => r.field), ...kind.remoteReferences.map((r) => r.field)]);
  for (const field of fields) {
    if (!WITHOUT_CONTENT.has(field) && !related.has(field) && field !== parentField) return { columns: RESOURCE_COLUMNS, complete: true };
  }
  return { columns: ALL_BUT_CONTENT, complete: false };
}
const COLUMNS = RESOURCE_COLUMNS;
const HISTORY_COLUMNS = 'resource_id, version, content, valid_from, valid_to, changed_by';

/** No condition: internal reads and unconfined callers. */
export const EVERYTHING: SqlCondition = { sql: '', params: [] };

/**
 * A stored row as a record. The content is parsed on first read: a list that only shows names
 * (the `name` column) never parses the documents. A class, not an object literal with a getter:
 * V8 gives a literal with an accessor a map and a closure of its own per record, about 1 KB and
 * 3 µs each, which a 1,000-row page paid on every request. Spreading a record does not copy the
 * prototype's `content`: copy one with `recordWith`. Serialising it (toJSON) includes the content.
 */
class StoredResource implements ResourceRecord {
  #contentText: string | null;
  #content: Content | undefined;
  readonly id: string;
  readonly kind: string;
  readonly naturalKey: string;
  readonly name: string;
  readonly parentId: string | null;
  readonly version: number;
  readonly status: ResourceRow['status'];
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly markedAt: string | null;
  readonly deleteAfter: string | null;
  readonly markId: string | null;
  readonly markedBy: string | null;

  constructor(v: readonly unknown[]) {
    this.id = v[0] as string;
    this.kind = v[1] as string;
    this.naturalKey = v[2] as string;
    this.name = v[3] as string;
    this.parentId = v[4] as string | null;
    this.#contentText = v[5] as string | null;
    this.version = Number(v[6]);
    this.status = v[7] as ResourceRow['status'];
    this.createdAt = v[8] as string;
    this.updatedAt = v[9] as string;
    this.markedAt = v[10] as string | null;
    this.deleteAfter = v[11] as string | null;
    this.markId = v[12] as string | null;
    this.markedBy = (v[13] as string | null | undefined) ?? null;
  }

  get content(): Content {
    if (this.#contentText === null)
      throw new Error(`${this.kind} ${this.id} was read without its content (a list that asked for no content field, see columnsFor)`);
    this.#content ??= JSON.parse(this.#contentText) as Content;
    return this.#content;
  }

  toJSON(): Omit<ResourceRecord, 'content'> & { content?: Content } {
    return this.#contentText === null ? { ...this } : recordWith(this, {});
  }
}

/** A stored row (an object keyed by column) as a record. */
export function toRecord(row: ResourceRow): ResourceRecord {
  return new StoredResource([
    row.id,
    row.kind,
    row.natural_key,
    row.name,
    row.parent_id,
    row.content,
    row.version,
    row.status,
    row.created_at,
    row.updated_at,
    row.marked_at,
    row.delete_after,
    row.mark_id,
    row.marked_by,
  ]);
}

/** The same from an array row whose first values are the RESOURCE_COLUMNS values, in that order. */
export function toRecordFromValues(v: readonly unknown[]): ResourceRecord {
  return new StoredResource(v);
}

/** The number of RESOURCE_COLUMNS: where the values after a resource's own start in an array row. */
export const RESOURCE_WIDTH = RESOURCE_COLUMNS.split(', ').length;

/** A plain copy of a record with some fields changed (the content included). */
export const recordWith = (r: ResourceRecord, changes: Partial<ResourceRecord>): ResourceRecord => ({
  ...r,
  content: r.content,
  ...changes,
});

export const toReference = (r: RefRow): ReferenceRecord => ({
  fromId: r.from_id,
  toId: r.to_id,
  type: r.type,
  path: r.path,
  createdAt: r.created_at,
});

export const toVersion = (h: HistoryRow): VersionRecord => ({
  resourceId: h.resource_id,
  version: Number(h.version),
  validFrom: h.valid_from,
  validTo: h.valid_to,
  content: JSON.parse(h.content) as Content,
  changedBy: h.changed_by ?? null,
});

export async function resourcesByIds(sql: Sql, ids: readonly string[], lock = '', only = EVERYTHING): Promise<ResourceRecord[]> {
  const rows = await readInChunks(ids, (c) =>
    sql.query<ResourceRow>(`SELECT ${COLUMNS} FROM resource WHERE id IN (${placeholders(c.length)})${only.sql}${lock}`, [
      ...c,
      ...only.params,
    ]),
  );
  return rows.map(toRecord);
}

export async function resourcesByNaturalKeys(
  sql: Sql,
  kind: string,
  keys: readonly string[],
  lock = '',
  only = EVERYTHING,
): Promise<ResourceRecord[]> {
  const rows = await readInChunks(keys, (c) =>
    sql.query<ResourceRow>(
      `SELECT ${COLUMNS} FROM resource WHERE kind = ? AND natural_key IN (${placeholders(c.length)})${only.sql}${lock}`,
      [kind, ...c, ...only.params],
    ),
  );
  return rows.map(toRecord);
}

export async function childrenOf(sql: Sql, parentIds: readonly string[], kind: string | null, lock = ''): Promise<ResourceRecord[]> {
  const rows = await readInChunks(parentIds, (c) =>
    sql.query<ResourceRow>(
      `SELECT ${COLUMNS} FROM resource WHERE parent_id IN (${placeholders(c.length)})${kind ? ' AND kind = ?' : ''} ORDER BY id${lock}`,
      kind ? [...c, kind] : c,
    ),
  );
  return rows.map(toRecord);
}

/** The first `first` children of each parent (one kind), in id order. */
export async function childrenPage(
  sql: Sql,
  parentIds: readonly string[],
  kind: string,
  first: number,
  only = EVERYTHING,
): Promise<ResourceRecord[]> {
  const rows = await readInChunks(parentIds, (c) =>
    sql.query<ResourceRow>(
      `SELECT ${COLUMNS} FROM (
         SELECT resource.*, ROW_NUMBER() OVER (PARTITION BY parent_id ORDER BY id) AS rn
         FROM resource WHERE parent_id IN (${placeholders(c.length)}) AND kind = ?${only.sql}
       ) v WHERE rn <= ? ORDER BY parent_id, id`,
      [...c, kind, ...only.params, first],
    ),
  );
  return rows.map(toRecord);
}

export async function referencesFrom(sql: Sql, ids: readonly string[], lock = ''): Promise<ReferenceRecord[]> {
  const rows = await readInChunks(ids, (c) =>
    sql.query<RefRow>(
      `SELECT from_id, path, to_id, type, created_at FROM resource_ref WHERE from_id IN (${placeholders(c.length)})${lock}`,
      c,
    ),
  );
  return rows.map(toReference);
}

/** References into `ids`; with `only`, from referrers the caller may read. */
export async function referencesTo(sql: Sql, ids: readonly string[], only = EVERYTHING): Promise<ReferenceRecord[]> {
  const rows = await readInChunks(ids, (c) =>
    sql.query<RefRow>(
      `SELECT f.from_id, f.path, f.to_id, f.type, f.created_at FROM resource_ref f${only.sql ? ' JOIN resource ON resource.id = f.from_id' : ''}
       WHERE f.to_id IN (${placeholders(c.length)})${only.sql} ORDER BY f.to_id, f.from_id, f.path`,
      [...c, ...only.params],
    ),
  );
  return rows.map(toReference);
}

/**
 * The first `first` references into each of `ids` (by referrer id), counting only referrers the
 * caller may read (`only` applies to the referrer's row, aliased `resource`).
 */
export async function referencesToPage(sql: Sql, ids: readonly string[], first: number, only = EVERYTHING): Promise<ReferenceRecord[]> {
  const rows = await readInChunks(ids, (c) =>
    sql.query<RefRow>(
      `SELECT from_id, path, to_id, type, created_at FROM (
         SELECT f.from_id, f.path, f.to_id, f.type, f.created_at, ROW_NUMBER() OVER (PARTITION BY f.to_id ORDER BY f.from_id, f.path) AS rn
         FROM resource_ref f${only.sql ? ' JOIN resource ON resource.id = f.from_id' : ''}
         WHERE f.to_id IN (${placeholders(c.length)})${only.sql}
       ) v WHERE rn <= ? ORDER BY to_id, from_id, path`,
      [...c, ...only.params, first],
    ),
  );
  return rows.map(toReference);
}

/**
 * The newest `first` versions of each resource up to a given version (newer ones written since
 * are left out): the history as of the version a request answers for the resource.
 */
export async function versionsUpTo(sql: Sql, upTo: readonly { id: string; version: number }[], first: number): Promise<VersionRecord[]> {
  const out: VersionRecord[] = [];
  for (const c of chunks(upTo)) {
    if (!c.length) continue;
    const rows = await sql.query<HistoryRow>(
      `SELECT ${HISTORY_COLUMNS} FROM (
         SELECT h.*, ROW_NUMBER() OVER (PARTITION BY resource_id ORDER BY version DESC) AS rn
         FROM resource_history h WHERE ${c.map(() => '(resource_id = ? AND version <= ?)').join(' OR ')}
       ) v WHERE rn <= ? ORDER BY resource_id, version DESC`,
      [...c.flatMap((u) => [u.id, u.version]), first],
    );
    out.push(...rows.map(toVersion));
  }
  return out;
}

/** Given versions of resources (one per resource), as the history holds them; a version pruned since is absent. */
export async function versionsNumbered(sql: Sql, wanted: readonly { id: string; version: number }[]): Promise<VersionRecord[]> {
  const out: VersionRecord[] = [];
  for (const c of chunks(wanted)) {
    if (!c.length) continue;
    const rows = await sql.query<HistoryRow>(
      `SELECT ${HISTORY_COLUMNS} FROM resource_history WHERE ${c.map(() => '(resource_id = ? AND version = ?)').join(' OR ')}`,
      c.flatMap((w) => [w.id, w.version]),
    );
    out.push(...rows.map(toVersion));
  }
  return out;
}

/** The version of each resource whose [validFrom, validTo) holds `at`. */
export async function versionsAt(sql: Sql, ids: readonly string[], at: Timestamp): Promise<VersionRecord[]> {
  const rows = await readInChunks(ids, (c) =>
    sql.query<HistoryRow>(
      `SELECT ${HISTORY_COLUMNS} FROM resource_history
       WHERE resource_id IN (${placeholders(c.length)}) AND valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)`,
      [...c, at, at],
    ),
  );
  return rows.map(toVersion);
}

export async function insertResource(sql: Sql, r: ResourceRecord): Promise<void> {
  await sql.execute(`INSERT INTO resource (${COLUMNS}) VALUES (${placeholders(14)})`, [
    r.id,
    r.kind,
    r.naturalKey,
    r.name,
    r.parentId,
    JSON.stringify(r.content),
    r.version,
    r.status,
    r.createdAt,
    r.updatedAt,
    r.markedAt,
    r.deleteAfter,
    r.markId,
    r.markedBy,
  ]);
}

export async function insertVersion(
  sql: Sql,
  id: string,
  version: number,
  content: Content,
  validFrom: Timestamp,
  changedBy: string | null,
): Promise<void> {
  // Close exactly the previous version: a range update on a brand-new id would take a gap lock that
  // concurrent creates deadlock on (ids are time-ordered, so they all land at the end of the index).
  if (version > 1) {
    await sql.execute(`UPDATE resource_history SET valid_to = ? WHERE resource_id = ? AND version = ?`, [validFrom, id, version - 1]);
  }
  await sql.execute(`INSERT INTO resource_history (${HISTORY_COLUMNS}) VALUES (?, ?, ?, ?, NULL, ?)`, [
    id,
    version,
    JSON.stringify(content),
    validFrom,
    changedBy,
  ]);
}

export async function insertReferences(sql: Sql, refs: readonly ReferenceRecord[]): Promise<void> {
  for (const chunk of chunks(refs, 200)) {
    if (!chunk.length) continue;
    await sql.execute(
      `INSERT INTO resource_ref (from_id, path, to_id, type, created_at) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
      chunk.flatMap((r) => [r.fromId, r.path, r.toId, r.type, r.createdAt]),
    );
  }
}
