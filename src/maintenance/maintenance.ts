import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Db } from '../data/db.js';
import { addSeconds } from '../data/time.js';
import type { GarbageCollector } from '../engine/lifecycle/collector.js';
import type { GcReport, PruneReport } from '../engine/lifecycle/model.js';
import type { HistoryPruner, PruneRule } from '../engine/lifecycle/pruner.js';
import type { Logger } from '../logger.js';
import { maintenanceDuration, maintenanceRuns } from '../observability/metrics.js';
import { outsideRequest } from '../observability/request-scope.js';
import type { RemoteContext } from '../remote/context.js';
import { revalidateStale, type RevalidationReport } from '../remote/revalidate.js';
import { LeaseManager, type LeasedRun } from './lease.js';

export interface MaintenanceSettings {
  leaseTtlSeconds: number;
  gcIntervalSeconds: number;
  historyKeepLast?: number;
  historyMaxAgeSeconds?: number;
  revalidateAfterSeconds: number;
  revalidateIntervalSeconds: number;
  /** How long applied change-event ids are remembered for idempotency. */
  appliedEventRetentionSeconds: number;
  /** Resources per garbage-collection transaction. */
  gcBatchSize?: number;
}

/**
 * Counts a maintenance run and its duration by outcome: `ok`, `skipped` (another replica held the
 * lease on a timer tick) or `failed`. Each statement keeps its own time limit; a request's
 * deadline does not apply to the run it asked for.
 */
async function observed<T>(job: string, run: () => Promise<T>): Promise<T> {
  const started = process.hrtime.bigint();
  let outcome = 'failed';
  try {
    const result = await outsideRequest(run);
    outcome = (result as { ran?: unknown } | undefined)?.ran === false ? 'skipped' : 'ok';
    return result;
  } finally {
    maintenanceRuns.inc({ job, outcome });
    maintenanceDuration.observe({ job, outcome }, Number(process.hrtime.bigint() - started) / 1e9);
  }
}

/** Raised when an operator's run cannot get the lease because another replica keeps it. */
export class MaintenanceBusyError extends Error {}

const GC_LEASE = 'maintenance';
const REVALIDATION_LEASE = 'revalidation';

/**
 * Garbage collection, history pruning and revalidation: each runs in one replica at a time under a
 * lease, on a timer and on demand. Runs asked for through the API wait their turn for the lease.
 */
export class Maintenance {
  private readonly leases: LeaseManager;
  private readonly timers: NodeJS.Timeout[] = [];
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly collector: GarbageCollector,
    private readonly pruner: HistoryPruner,
    private readonly remote: RemoteContext,
    private readonly settings: MaintenanceSettings,
    private readonly log?: Logger,
  ) {
    const holder = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.leases = new LeaseManager(db, { holder, ttlSeconds: settings.leaseTtlSeconds, log });
  }

  collectGarbage(dryRun: boolean): Promise<GcReport> {
    return observed('gc', () => this.exclusive(GC_LEASE, (run) => this.collector.collect(run, dryRun)));
  }

  pruneHistory(rule: PruneRule): Promise<PruneReport> {
    return observed('prune', () => this.exclusive(GC_LEASE, (run) => this.pruner.prune(run, rule)));
  }

  revalidate(): Promise<RevalidationReport> {
    return observed('revalidation', () =>
      this.exclusive(REVALIDATION_LEASE, (run) =>
        revalidateStale(this.remote, { olderThanSeconds: this.settings.revalidateAfterSeconds, write: (fn) => run.transaction((tx) => fn(tx)) }),
      ),
    );
  }

  /** The periodic run: collect, prune by the configured rule, forget old event ids. */
  async periodic(run: LeasedRun): Promise<void> {
    const gc = await this.collector.collect(run, false);
    const { historyKeepLast: keepLast, historyMaxAgeSeconds: maxAge } = this.settings;
    let pruned: PruneReport | undefined;
    const now = await this.db.now();
    if (keepLast !== undefined || maxAge !== undefined) {
      pruned = await this.pruner.prune(run, { keepLast, olderThan: maxAge !== undefined ? addSeconds(now, -maxAge) : undefined });
    }
    const cutoff = addSeconds(now, -this.settings.appliedEventRetentionSeconds);
    await run.transaction((tx) => tx.execute(`DELETE FROM applied_event WHERE applied_at < ?`, [cutoff]));
    this.log?.info({ deleted: gc.deleted.length, blocked: gc.blocked.length, orphans: gc.orphanRemoteRefsDeleted, pruned }, 'maintenance run');
  }

  /** Starts the timers; an interval of 0 turns that job off. */
  start(): void {
    const every = (seconds: number, job: () => Promise<unknown>) => {
      if (seconds <= 0) return;
      const timer = setInterval(() => {
        this.running = this.running.then(job).catch((err) => this.log?.warn({ err }, 'background maintenance failed'));
      }, seconds * 1000);
      timer.unref();
      this.timers.push(timer);
    };
    every(this.settings.gcIntervalSeconds, () => observed('periodic', () => this.leases.runExclusive(GC_LEASE, (run) => this.periodic(run))));
    every(this.settings.revalidateIntervalSeconds, () =>
      observed('revalidation', () =>
        this.leases.runExclusive(REVALIDATION_LEASE, (run) =>
          revalidateStale(this.remote, { olderThanSeconds: this.settings.revalidateAfterSeconds, write: (fn) => run.transaction((tx) => fn(tx)) }),
        ),
      ),
    );
  }

  /** Stops the timers and waits for a run in progress to end. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    await this.running;
  }

  /** Waits (bounded) for the lease when another replica holds it: an operator's request should not just fail. */
  private async exclusive<T>(name: string, job: (run: LeasedRun) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.settings.leaseTtlSeconds * 2000;
    for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
      const result = await this.leases.runExclusive(name, job);
      if (result.ran) return result.result;
      if (Date.now() > deadline) throw new MaintenanceBusyError(`another replica is running ${name}; try again shortly`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
