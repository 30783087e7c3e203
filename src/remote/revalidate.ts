import type { Sql } from '../data/db.js';
import type { RemoteRefRow } from '../data/entities.js';
import { addSeconds } from '../data/time.js';
import { DomainError } from '../engine/errors.js';
import { groupBy } from '../util/group-by.js';
import { fetchEntities, normalizeEntity, type RemoteContext } from './context.js';
import { REMOTE_COLUMNS, storeFailure, storeFetched, storeGone, toRemoteRecord, touchChecked, type RemoteRefRecord } from './remote-ref-store.js';

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
 * source position: a change event that landed meanwhile is never overwritten by an older read.
 * A failing store ends the sweep for it.
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
    for (let batch = 0; batch < phase.batches; batch++) {
      const selected = await ctx.db.query<RemoteRefRow>(
        `SELECT ${REMOTE_COLUMNS} FROM remote_ref WHERE deleted = ? AND (fetched_at IS NULL OR fetched_at < ?) ORDER BY fetched_at LIMIT ?`,
        [phase.deleted, cutoff, batchSize],
      );
      const rows = selected.map(toRemoteRecord).filter((r) => !failing.has(r.entityType));
      if (!rows.length) break;
      await revalidateBatch(ctx, rows, write, report, failing);
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
      const found = await fetchEntities(ctx, type, group.map((r) => r.key));
      const gone = group.filter((r) => !found.has(r.hashKey));
      await write(async (sql) => {
        const now = await ctx.db.now();
        const fetched = group.filter((r) => found.has(r.hashKey)).map((r) => ({ id: r.id, entity: normalizeEntity(type, r.key, found.get(r.hashKey)!) }));
        await storeFetched(sql, fetched, now, found.position);
        await storeGone(sql, gone.map((r) => r.id), now, `${type.name} no longer exists in its store`, found.position);
        // Rows a newer change overtook were checked all the same: the next batch moves on.
        await touchChecked(sql, group.map((r) => r.id), now);
      });
      report.refreshed += group.length - gone.length;
      report.markedDeleted += gone.filter((r) => !r.deleted).length;
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      failing.add(typeName);
      report.failed += group.length;
      await write((sql) => storeFailure(sql, group.map((r) => r.id), e.message));
    }
  }
}
