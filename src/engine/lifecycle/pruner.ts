import { IN_CHUNK } from '../../data/chunk.js';
import type { Db } from '../../data/db.js';
import type { Timestamp } from '../../data/time.js';
import { badInput } from '../errors.js';
import type { FencedWriter } from './fenced.js';
import { InterruptedRunError } from './interrupted.js';
import type { PruneReport } from './model.js';

/** Versions per pruning transaction: one `IN` list, so no larger than a chunk. */
const BATCH = IN_CHUNK;

export interface PruneRule {
  /** Versions that ended before this instant go. */
  olderThan?: Timestamp | null;
  /** Each resource keeps at most this many versions, the current one included. */
  keepLast?: number | null;
}

/**
 * History pruning: deletes old versions in bounded batches, never a current version and never one
 * an approval in force pins (those are counted as kept for approvals).
 */
export class HistoryPruner {
  constructor(private readonly db: Db) {}

  static check(rule: PruneRule): void {
    if ((rule.olderThan ?? null) === null && (rule.keepLast ?? null) === null)
      throw badInput('pruneHistory needs olderThan, keepLast or both');
    if (rule.keepLast !== undefined && rule.keepLast !== null && (!Number.isInteger(rule.keepLast) || rule.keepLast < 1)) {
      throw badInput(`keepLast must be a whole number of at least 1 (got ${rule.keepLast})`);
    }
  }

  async prune(run: FencedWriter, rule: PruneRule): Promise<PruneReport> {
    HistoryPruner.check(rule);
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (rule.keepLast) {
      conditions.push('v.rn > ?');
      params.push(rule.keepLast);
    }
    if (rule.olderThan) {
      conditions.push('v.valid_to < ?');
      params.push(rule.olderThan);
    }
    const due = `FROM (SELECT h.resource_id, h.version, h.valid_to,
                   ROW_NUMBER() OVER (PARTITION BY h.resource_id ORDER BY h.version DESC) AS rn
                 FROM resource_history h) v
      WHERE v.valid_to IS NOT NULL AND (${conditions.join(' OR ')})`;
    const pinned = `EXISTS (SELECT 1 FROM approval_pin p JOIN approval a ON a.id = p.approval_id
      WHERE a.revoked_at IS NULL AND p.resource_id = v.resource_id AND p.version = v.version)`;

    let versionsDeleted = 0;
    try {
      for (;;) {
        const rows = await this.db.query<{ resource_id: string; version: number }>(
          `SELECT v.resource_id, v.version ${due} AND NOT ${pinned} LIMIT ${BATCH}`,
          params,
        );
        if (!rows.length) break;
        versionsDeleted += await run.transaction((tx) =>
          tx.execute(
            `DELETE FROM resource_history WHERE valid_to IS NOT NULL AND (resource_id, version) IN (${rows.map(() => '(?, ?)').join(', ')})`,
            rows.flatMap((r) => [r.resource_id, Number(r.version)]),
          ),
        );
        if (rows.length < BATCH) break;
      }
    } catch (e) {
      // Batches committed before the failure stay deleted: the caller learns how many.
      throw new InterruptedRunError(
        `${versionsDeleted} version${versionsDeleted === 1 ? '' : 's'} deleted`,
        { versionsDeleted },
        versionsDeleted,
        e,
      );
    }
    const [kept] = await this.db.query<{ n: number | string }>(`SELECT COUNT(*) AS n ${due} AND ${pinned}`, params);
    return { versionsDeleted, versionsKeptForApprovals: Number(kept.n) };
  }
}
