import type { Sql } from '../data/db.js';
import type { RemoteRefRow } from '../data/entities.js';
import { addSeconds } from '../data/time.js';
import { DomainError } from '../engine/errors.js';
import { groupBy } from '../util/group-by.js';
import { fetchEntities, type RemoteContext } from './context.js';
import { REMOTE_COLUMNS, storeFailure, storeFetched, storeGone, toRemoteRecord, type RemoteRefRecord } from './remote-ref-store.js';

export interface RevalidationReport {
  checked: number;
  refreshed: number;
  markedDeleted: number;
  failed: number;
}

/** Runs a batch's writes; the maintenance lease passes one that checks its fencing token. */
export type WriteBatch = <T>(fn: (sql: Sql) => Promise<T>) => Promise<T>;

/**
 * Refetches cached rows older than `olderThanSeconds`, a batch at a time with one remote query
 * per type, so the cache converges on the stores even without a change feed. Rows the store no
 * longer has are flagged deleted (the last copy stays). Rows flagged deleted are looked at again
 * after the live ones, with a quarter of the batches, so a key that came back heals (an emptied
 * and reloaded client table converges within one run). Every write is a compare-and-set on the
 * row's state, on the operational store's clock only: a change that landed after the read began
 * is never overwritten by it, and nothing a feed or a store's clock said can keep a read out.
 * `fetched_at` moves only for rows written: a row overtaken meanwhile was written (and dated) by
 * what overtook it, and a row whose store answered something that does not fit its type keeps
 * its date and its place at the front of the next run. A failing store ends the sweep for it.
 */
export async function revalidateStale(
  ctx: RemoteContext,
  options: { olderThanSeconds: number; batchSize?: number; maxBatches?: number; write?: WriteBatch },
): Promise<RevalidationReport> {
  const batchSize = options.batchSize ?? 500;
  const maxBatches = options.maxBatches ?? 100;
  const write: WriteBatch = options.write ?? ((fn) => ctx.db.transaction((tx) => fn(tx)));
  const report: RevalidationReport = { checked: 0, refreshed: 0, markedDeleted: 0, failed: 0 };
  const cutoff = addSeconds(await ctx.db.now(), -options.olderThanSeconds);
  const failing = new Set<string>();
  const phases = [
    { deleted: 0, batches: maxBatches },
    { deleted: 1, batches: Math.max(1, Math.ceil(maxBatches / 4)) },
  ];
  for (const phase of phases) {
    // A cursor on (fetched_at, id): rows written move past the cutoff, rows not written stay
    // behind the cursor, so each row is looked at once a run.
    let after: { at: string | null; id: string } | null = null;
    for (let batch = 0; batch < phase.batches; batch++) {
      const cursor: { sql: string; params: unknown[] } =
        after === null
          ? { sql: '', params: [] }
          : after.at === null
            ? { sql: ' AND (fetched_at IS NOT NULL OR id > ?)', params: [after.id] }
            : { sql: ' AND (fetched_at > ? OR (fetched_at = ? AND id > ?))', params: [after.at, after.at, after.id] };
      const selected: RemoteRefRow[] = await ctx.db.query<RemoteRefRow>(
        `SELECT ${REMOTE_COLUMNS} FROM remote_ref WHERE deleted = ? AND (fetched_at IS NULL OR fetched_at < ?)${cursor.sql} ORDER BY fetched_at, id LIMIT ?`,
        [phase.deleted, cutoff, ...cursor.params, batchSize],
      );
      if (!selected.length) break;
      const last = selected[selected.length - 1];
      after = { at: last.fetched_at, id: last.id };
      const rows = selected.map(toRemoteRecord).filter((r) => !failing.has(r.entityType));
      if (rows.length) await revalidateBatch(ctx, rows, write, report, failing);
      if (selected.length < batchSize) break;
    }
  }
  return report;
}

async function revalidateBatch(
  ctx: RemoteContext,
  rows: RemoteRefRecord[],
  write: WriteBatch,
  report: RevalidationReport,
  failing: Set<string>,
): Promise<void> {
  for (const [typeName, group] of groupBy(rows, (r) => r.entityType)) {
    const type = ctx.schema.remoteTypes.get(typeName);
    if (!type) {
      failing.add(typeName);
      continue;
    }
    report.checked += group.length;
    try {
      const found = await fetchEntities(
        ctx,
        type,
        group.map((r) => r.key),
      );
      const refused = group.filter((r) => found.refused.has(r.hashKey));
      const gone = group.filter((r) => !found.has(r.hashKey) && !found.refused.has(r.hashKey));
      await write(async (sql) => {
        const now = found.read.startedAt;
        const fetched = group.filter((r) => found.has(r.hashKey)).map((r) => ({ id: r.id, entity: found.get(r.hashKey)! }));
        await storeFetched(sql, fetched, now, found.read);
        await storeGone(
          sql,
          gone.map((r) => r.id),
          now,
          `${type.name} no longer exists in its store`,
          found.read,
        );
        for (const r of refused) await storeFailure(sql, [r.id], found.refused.get(r.hashKey)!);
      });
      report.refreshed += group.length - gone.length - refused.length;
      report.markedDeleted += gone.filter((r) => !r.deleted).length;
      report.failed += refused.length;
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      failing.add(typeName);
      report.failed += group.length;
      await write((sql) =>
        storeFailure(
          sql,
          group.map((r) => r.id),
          e.message,
        ),
      );
    }
  }
}
