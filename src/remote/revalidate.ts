import type { Sql } from '../data/db.js';
import type { RemoteRefRow } from '../data/entities.js';
import { addSeconds } from '../data/time.js';
import { DomainError } from '../engine/errors.js';
import { groupBy } from '../util/group-by.js';
import { fetchEntities, normalizeEntity, type RemoteContext } from './context.js';
import { REMOTE_COLUMNS, storeFailure, storeFetched, storeGone, toRemoteRecord } from './remote-ref-store.js';

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
 * longer has are flagged deleted (the last copy stays). A failing store ends the sweep for it.
 */
export async function revalidateStale(
  ctx: RemoteContext,
  options: { olderThanSeconds: number; batchSize?: number; maxBatches?: number; write?: WriteBatch },
): Promise<RevalidationReport> {
  const batchSize = options.batchSize ?? 500;
  const write: WriteBatch = options.write ?? ((fn) => ctx.db.transaction((tx) => fn(tx)));
  const report: RevalidationReport = { checked: 0, refreshed: 0, markedDeleted: 0, failed: 0 };
  const cutoff = addSeconds(await ctx.db.now(), -options.olderThanSeconds);
  const failing = new Set<string>();
  for (let batch = 0; batch < (options.maxBatches ?? 100); batch++) {
    const rows = (
      await ctx.db.query<RemoteRefRow>(
        `SELECT ${REMOTE_COLUMNS} FROM remote_ref WHERE deleted = 0 AND (fetched_at IS NULL OR fetched_at < ?) ORDER BY fetched_at LIMIT ?`,
        [cutoff, batchSize],
      )
    )
      .map(toRemoteRecord)
      .filter((r) => !failing.has(r.entityType));
    if (!rows.length) break;
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
          await storeFetched(sql, group.filter((r) => found.has(r.hashKey)).map((r) => ({ id: r.id, entity: normalizeEntity(type, r.key, found.get(r.hashKey)!) })), now);
          await storeGone(sql, gone.map((r) => r.id), now, `${type.name} no longer exists in its store`);
        });
        report.refreshed += group.length - gone.length;
        report.markedDeleted += gone.length;
      } catch (e) {
        if (!(e instanceof DomainError)) throw e;
        failing.add(typeName);
        report.failed += group.length;
        await write((sql) => storeFailure(sql, group.map((r) => r.id), e.message));
      }
    }
    if (rows.length < batchSize) break;
  }
  return report;
}
