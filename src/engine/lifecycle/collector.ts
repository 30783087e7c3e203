import { chunks, placeholders, readInChunks } from '../../data/chunk.js';
import type { Db, Tx } from '../../data/db.js';
import type { HistoryRow, ResourceRow } from '../../data/entities.js';
import { deleteOrphanRemoteRefs } from '../../remote/orphans.js';
import type { ResourceRecord } from '../resources/model.js';
import { EVERYTHING, RESOURCE_COLUMNS, resourcesByIds, toRecord, toVersion } from '../resources/store.js';
import type { SqlCondition } from '../resources/tenancy.js';
import type { RelationshipSchema } from '../../model/model.js';
import type { FencedWriter } from './fenced.js';
import type { DeletionCandidateRecord, GcReport } from './model.js';
import { ancestorsOf, holdingReferencesTo, holdingSql, maxDepth } from './ancestors.js';
import { candidatesOf, explainDeletion, type Explain } from './explain.js';
import { approvalsPinning, referencesFromOutside } from './queries.js';
import { groupBy } from '../../util/group-by.js';
import { IDS_NAMED, InterruptedRunError } from './interrupted.js';

const DEFAULT_BATCH = 500;
/** How many blocked resources a report lists: the report stays bounded, whatever is marked. */
export const REPORT_LIMIT = 1000;
/** What a collected personal resource leaves in other approvals' pins instead of its content. */
export const PERSONAL_TOMBSTONE = JSON.stringify({ tombstone: true, reason: 'personal data removed when the resource was collected' });

/** A collection stopped after committed batches: the caller learns what they collected. */
function interrupted(report: GcReport, cause: unknown): InterruptedRunError {
  const n = report.deleted.length;
  return new InterruptedRunError(
    `${n} resource${n === 1 ? '' : 's'} collected (${report.archived} archived)`,
    { collected: n, archived: report.archived, ids: report.deleted.slice(0, IDS_NAMED), idsOmitted: Math.max(0, n - IDS_NAMED) },
    n,
    cause,
  );
}

/** Runs a statement per chunk of `ids` (`IN (…)` lists stay bounded) and adds up the rows changed. */
async function executeInChunks(tx: Tx, ids: readonly string[], sql: (inList: string) => string, before: unknown[] = []): Promise<number> {
  let n = 0;
  for (const c of chunks(ids)) n += await tx.execute(sql(placeholders(c.length)), [...before, ...c]);
  return n;
}

/**
 * Garbage collection. The collectable set is a fixpoint over the reference index, computed in the
 * `gc_candidate` working table with set statements (never one query per resource):
 *   start with every marked resource whose deleteAfter has passed, then drop, until nothing
 *   changes, each candidate that a non-candidate refers to (children refer to their parent, so a
 *   parent stays while a child stays), each one whose ancestor a non-candidate refers to through a
 *   reference that holds its subtree (the ancestor rule), and each one an approval in force pins.
 * Deletion then peels the set from the leaves: a batch holds candidates nothing refers to any
 * more, so after every committed batch no reference points at a missing resource. Candidates that
 * refer to each other in cycles go in batches closed under "refers to" (bounded by the batch size
 * unless one cycle alone is larger: a cycle cannot be split without a dangling reference).
 * explain.ts applies these same rules, with the same set queries, to say why a resource stays: a
 * rule changed here must change there (test/deletion-explanation.test.ts compares the two).
 */
export class GarbageCollector {
  constructor(
    private readonly db: Db,
    private readonly schema: RelationshipSchema,
    private readonly batchSize = DEFAULT_BATCH,
    private readonly explain: Explain = (records) => explainDeletion(db, schema, records, { lease: () => Promise.resolve(null) }),
  ) {}

  async collect(run: FencedWriter, dryRun: boolean): Promise<GcReport> {
    const token = run.token;
    const now = await this.db.now();
    // Rows of runs that died mid-way, and our own. Never newer tokens: a stale run resuming here must
    // not wipe the working set of the run that took its lease over.
    await this.db.execute(`DELETE FROM gc_candidate WHERE run_token <= ?`, [token]);
    await this.db.execute(
      `INSERT INTO gc_candidate (run_token, resource_id) SELECT ?, id FROM resource WHERE status = 'MARKED_FOR_DELETION' AND delete_after <= ?`,
      [token, now],
    );
    await this.fixpoint(token);

    const report: GcReport = { dryRun, deleted: [], archived: 0, blocked: [], orphanRemoteRefsDeleted: 0 };
    let failed = false;
    try {
      if (dryRun) {
        const ids = await this.db.query<{ resource_id: string; kind: string }>(
          `SELECT c.resource_id, r.kind FROM gc_candidate c JOIN resource r ON r.id = c.resource_id WHERE c.run_token = ? ORDER BY c.resource_id`,
          [token],
        );
        report.deleted = ids.map((i) => i.resource_id);
        report.archived = ids.filter((i) => !this.schema.kind(i.kind).personal).length;
        report.orphanRemoteRefsDeleted = await this.countOrphansAfter(token);
        report.blocked = await this.describe(await this.markedResources(token));
      } else {
        try {
          await this.deleteInBatches(run, report);
          report.orphanRemoteRefsDeleted = await deleteOrphanRemoteRefs(this.db, { write: (fn) => run.transaction((tx) => fn(tx)) });
          await run.transaction((tx) =>
            tx.execute(`DELETE FROM deletion_mark WHERE NOT EXISTS (SELECT 1 FROM resource r WHERE r.mark_id = deletion_mark.id)`),
          );
        } catch (e) {
          throw interrupted(report, e);
        }
      }
    } catch (e) {
      failed = true;
      throw e;
    } finally {
      // The next run clears what is left (its DELETE takes every older token): a failed clean-up
      // must not hide why the run failed.
      await this.db.execute(`DELETE FROM gc_candidate WHERE run_token = ?`, [token]).catch((e: unknown) => {
        if (!failed) throw e;
      });
    }
    // After a run, whatever still refers to a marked resource is what holds it, marked or not.
    if (!dryRun) report.blocked = await this.describe(await this.markedResources());
    return report;
  }

  /** Marked resources left in place, each with the explanation `Resource.deletion` gives. */
  private async describe(records: ResourceRecord[]): Promise<DeletionCandidateRecord[]> {
    return candidatesOf(records, await this.explain(records));
  }

  /** Drops candidates held from outside the set (directly or through an ancestor), and pinned ones, until nothing changes. */
  private async fixpoint(token: number): Promise<void> {
    const referred = `SELECT DISTINCT f.to_id AS id FROM resource_ref f
       JOIN gc_candidate t ON t.run_token = ? AND t.resource_id = f.to_id
       LEFT JOIN gc_candidate c ON c.run_token = ? AND c.resource_id = f.from_id
       WHERE c.resource_id IS NULL LIMIT ${this.batchSize}`;
    const pinned = `SELECT DISTINCT p.resource_id AS id FROM approval_pin p
       JOIN approval a ON a.id = p.approval_id AND a.revoked_at IS NULL
       JOIN gc_candidate t ON t.run_token = ? AND t.resource_id = p.resource_id LIMIT ${this.batchSize}`;
    // The ancestor rule: the parent chain joined up to the depth the schema allows, then one index
    // seek per ancestor for a holding reference from outside (MariaDB cannot seek `IN (a1.id, …)`).
    const h = holdingSql(this.schema);
    const depth = maxDepth(this.schema);
    const viaAncestor: [string, unknown[]][] = [];
    if (depth > 0) {
      const chain = Array.from(
        { length: depth },
        (_, i) => ` LEFT JOIN resource a${i + 1} ON a${i + 1}.id = ${i === 0 ? 'x' : `a${i}`}.parent_id`,
      ).join('');
      const heldFromOutside = (a: string) =>
        `EXISTS (SELECT 1 FROM resource_ref f${h.join} LEFT JOIN gc_candidate c ON c.run_token = ? AND c.resource_id = f.from_id
           WHERE f.to_id = ${a}.id AND ${h.where} AND c.resource_id IS NULL)`;
      const levels = Array.from({ length: depth }, (_, i) => `a${i + 1}`);
      viaAncestor.push([
        `SELECT t.resource_id AS id FROM gc_candidate t JOIN resource x ON x.id = t.resource_id${chain}
         WHERE t.run_token = ? AND (${levels.map(heldFromOutside).join(' OR ')}) LIMIT ${this.batchSize}`,
        [token, ...levels.flatMap(() => [token, ...h.params])],
      ]);
    }
    for (;;) {
      let removed = 0;
      for (const [sql, params] of [[referred, [token, token]], [pinned, [token]], ...viaAncestor] as [string, unknown[]][]) {
        for (;;) {
          const ids = (await this.db.query<{ id: string }>(sql, params)).map((r) => r.id);
          if (!ids.length) break;
          for (const c of chunks(ids)) {
            await this.db.execute(`DELETE FROM gc_candidate WHERE run_token = ? AND resource_id IN (${placeholders(c.length)})`, [
              token,
              ...c,
            ]);
          }
          removed += ids.length;
        }
      }
      if (!removed) return;
    }
  }

  private async deleteInBatches(run: FencedWriter, report: GcReport): Promise<void> {
    for (;;) {
      let ids = (
        await this.db.query<{ resource_id: string }>(
          `SELECT c.resource_id FROM gc_candidate c WHERE c.run_token = ?
           AND NOT EXISTS (SELECT 1 FROM resource_ref f WHERE f.to_id = c.resource_id) ORDER BY c.resource_id LIMIT ${this.batchSize}`,
          [run.token],
        )
      ).map((r) => r.resource_id);
      // Only candidates that refer to each other in cycles remain.
      if (!ids.length) ids = await this.cycleBatch(run.token);
      if (!ids.length) return;
      const { deleted, archived } = await run.transaction(async (tx) => {
        const done = await this.deleteBatch(tx, run.token, ids);
        await executeInChunks(tx, ids, (inList) => `DELETE FROM gc_candidate WHERE run_token = ? AND resource_id IN (${inList})`, [
          run.token,
        ]);
        return done;
      });
      report.deleted.push(...deleted);
      report.archived += archived;
    }
  }

  /**
   * A batch of cycle members that nothing outside the batch refers to: whole cycles (with whatever
   * refers into them), added while they fit in the batch size. A first cycle larger than the batch
   * size goes alone: splitting it would leave a reference to a deleted resource.
   */
  private async cycleBatch(token: number): Promise<string[]> {
    const seeds = (
      await this.db.query<{ resource_id: string }>(
        `SELECT resource_id FROM gc_candidate WHERE run_token = ? ORDER BY resource_id LIMIT ${this.batchSize}`,
        [token],
      )
    ).map((r) => r.resource_id);
    const batch = new Set<string>();
    for (const seed of seeds) {
      if (batch.has(seed)) continue;
      const closed = new Set([seed]);
      for (let frontier = [seed]; frontier.length; ) {
        const referrers = await readInChunks(frontier, (c) =>
          this.db.query<{ id: string }>(
            `SELECT DISTINCT f.from_id AS id FROM resource_ref f JOIN gc_candidate c ON c.run_token = ? AND c.resource_id = f.from_id
             WHERE f.to_id IN (${placeholders(c.length)})`,
            [token, ...c],
          ),
        );
        frontier = referrers.map((r) => r.id).filter((id) => !closed.has(id) && !batch.has(id));
        for (const id of frontier) closed.add(id);
        if (batch.size && batch.size + closed.size > this.batchSize) return [...batch];
      }
      for (const id of closed) batch.add(id);
      if (batch.size >= this.batchSize) break;
    }
    return [...batch];
  }

  /**
   * One batch, one transaction: re-checks under row locks what the fixpoint assumed (still
   * marked, due, unreferenced from outside the batch, no ancestor held from outside the collected
   * set, unpinned), archives, scrubs personal content from other approvals, then deletes.
   */
  private async deleteBatch(tx: Tx, token: number, ids: string[]): Promise<{ deleted: string[]; archived: number }> {
    const now = await tx.now();
    let batch = (await resourcesByIds(tx, ids, tx.forUpdate)).filter(
      (r) => r.status === 'MARKED_FOR_DELETION' && r.deleteAfter !== null && r.deleteAfter <= now,
    );
    // Ancestors are locked before the first plain read: a reference made to one concurrently is
    // either committed (and seen below) or waits until this batch is done.
    const chains = await ancestorsOf(tx, batch, tx.forUpdate);
    for (;;) {
      const ids = batch.map((r) => r.id);
      const inBatch = new Set(ids);
      const held = new Set((await referencesFromOutside(tx, ids)).map((r) => r.toId));
      for (const id of (await approvalsPinning(tx, ids)).keys()) held.add(id);
      const ancestors = [...new Set(batch.flatMap((r) => chains.get(r.id) ?? []))];
      const intoAncestors = (ancestors.length ? await holdingReferencesTo(tx, this.schema, ancestors) : []).filter(
        (r) => !inBatch.has(r.fromId),
      );
      const collected = await this.stillCollected(
        tx,
        token,
        intoAncestors.map((r) => r.fromId),
        now,
      );
      const heldAncestors = new Set(intoAncestors.filter((r) => !collected.has(r.fromId)).map((r) => r.toId));
      for (const r of batch) if ((chains.get(r.id) ?? []).some((a) => heldAncestors.has(a))) held.add(r.id);
      if (!held.size) break;
      batch = batch.filter((r) => !held.has(r.id));
    }
    if (!batch.length) return { deleted: [], archived: 0 };
    const batchIds = batch.map((r) => r.id);
    const archived = await this.archive(
      tx,
      batch.filter((r) => !this.schema.kind(r.kind).personal),
      now,
    );
    const each = (sql: (inList: string) => string) => executeInChunks(tx, batchIds, sql);
    await each((l) => `DELETE FROM remote_link WHERE resource_id IN (${l})`);
    await each((l) => `DELETE FROM resource_ref WHERE from_id IN (${l})`);
    await each((l) => `DELETE FROM resource_history WHERE resource_id IN (${l})`);
    // Approvals of a collected group were revoked (an approval in force pins its group): they go with it.
    for (const table of ['approval_pin', 'approval_remote_snapshot']) {
      await each(
        (l) => `DELETE FROM ${table} WHERE approval_id IN (SELECT id FROM (SELECT id FROM approval WHERE resource_id IN (${l})) a)`,
      );
    }
    await each((l) => `DELETE FROM approval WHERE resource_id IN (${l})`);
    // Personal means gone: other (revoked) approvals keep the pin's id, kind and version, not its content.
    const personal = batch.filter((r) => this.schema.kind(r.kind).personal).map((r) => r.id);
    await executeInChunks(tx, personal, (l) => `UPDATE approval_pin SET content = ? WHERE resource_id IN (${l})`, [PERSONAL_TOMBSTONE]);
    await executeInChunks(tx, personal, (l) => `DELETE FROM approval_remote_snapshot WHERE resource_id IN (${l})`);
    await each((l) => `DELETE FROM resource WHERE id IN (${l})`);
    return { deleted: batchIds, archived };
  }

  /** Which of `ids` are candidates of this run and still marked and due (share-locked: a cancel waits). */
  private async stillCollected(tx: Tx, token: number, ids: readonly string[], now: string): Promise<Set<string>> {
    const rows = await readInChunks(ids, (c) =>
      tx.query<{ id: string }>(
        `SELECT r.id FROM resource r JOIN gc_candidate c ON c.run_token = ? AND c.resource_id = r.id
         WHERE r.id IN (${placeholders(c.length)}) AND r.status = 'MARKED_FOR_DELETION' AND r.delete_after <= ?${tx.forShare}`,
        [token, ...c, now],
      ),
    );
    return new Set(rows.map((r) => r.id));
  }

  /** Non-personal resources are kept in the archive with every kept version and the references they held. */
  private async archive(tx: Tx, records: ResourceRecord[], now: string): Promise<number> {
    if (!records.length) return 0;
    const ids = records.map((r) => r.id);
    const history = await readInChunks(ids, (c) =>
      tx.query<HistoryRow>(
        `SELECT resource_id, version, content, valid_from, valid_to FROM resource_history WHERE resource_id IN (${placeholders(c.length)}) ORDER BY resource_id, version`,
        c,
      ),
    );
    const refs = await readInChunks(ids, (c) =>
      tx.query<{ from_id: string; path: string; to_id: string; type: string }>(
        `SELECT from_id, path, to_id, type FROM resource_ref WHERE from_id IN (${placeholders(c.length)})`,
        c,
      ),
    );
    const historyOf = groupBy(history, (h) => h.resource_id);
    const refsOf = groupBy(refs, (x) => x.from_id);
    for (const c of chunks(records, 100)) {
      await tx.execute(
        `INSERT INTO archive (resource_id, kind, natural_key, document, archived_at) VALUES ${c.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
        c.flatMap((r) => [
          r.id,
          r.kind,
          r.naturalKey,
          JSON.stringify({
            resource: r,
            history: (historyOf.get(r.id) ?? []).map(toVersion),
            references: (refsOf.get(r.id) ?? []).map(({ path, to_id, type }) => ({ path, toId: to_id, type })),
          }),
          now,
        ]),
      );
    }
    return records.length;
  }

  private async countOrphansAfter(token: number): Promise<number> {
    const [row] = await this.db.query<{ n: number | string }>(
      `SELECT COUNT(*) AS n FROM remote_ref r WHERE NOT EXISTS (
         SELECT 1 FROM remote_link l LEFT JOIN gc_candidate c ON c.run_token = ? AND c.resource_id = l.resource_id
         WHERE l.remote_ref_id = r.id AND c.resource_id IS NULL)`,
      [token],
    );
    return Number(row.n);
  }

  /** Marked resources (oldest mark first, bounded) the caller may read, leaving out the candidates of a dry run. */
  async markedResources(dryRunToken?: number, limit = REPORT_LIMIT, only: SqlCondition = EVERYTHING): Promise<ResourceRecord[]> {
    const exclude =
      dryRunToken === undefined
        ? ''
        : ' AND NOT EXISTS (SELECT 1 FROM gc_candidate c WHERE c.run_token = ? AND c.resource_id = resource.id)';
    const rows = await this.db.query<ResourceRow>(
      `SELECT ${RESOURCE_COLUMNS}
       FROM resource WHERE status = 'MARKED_FOR_DELETION'${exclude}${only.sql} ORDER BY marked_at, id LIMIT ?`,
      [...(dryRunToken === undefined ? [] : [dryRunToken]), ...only.params, limit],
    );
    return rows.map(toRecord);
  }
}
