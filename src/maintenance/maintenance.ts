import { randomBytes } from 'node:crypto';
import type { Db } from '../data/db.js';
import { placeholders } from '../data/chunk.js';
import { addSeconds, toIso } from '../data/time.js';
import { DomainError } from '../engine/errors.js';
import type { GarbageCollector } from '../engine/lifecycle/collector.js';
import type { GcReport, PruneReport } from '../engine/lifecycle/model.js';
import type { HistoryPruner, PruneRule } from '../engine/lifecycle/pruner.js';
import type { Logger } from '../logger.js';
import { maintenanceDuration, maintenanceRuns } from '../observability/metrics.js';
import type { RemoteContext } from '../remote/context.js';
import { revalidateStale, type RevalidationReport } from '../remote/revalidate.js';
import { StoreUnavailableError } from '../data/store-errors.js';
import { InterruptedRunError } from '../engine/lifecycle/interrupted.js';
import { LeaseLostError, LeaseManager, type LeasedRun } from './lease.js';

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
  /** Server-side bound on each maintenance transaction (see LeaseOptions.transactionTimeoutSeconds). */
  transactionTimeoutSeconds?: number;
}

/**
 * Counts a maintenance run and its duration by outcome: `ok`, `skipped` (another replica held the
 * lease on a timer tick) or `failed`. A run asked for through the API stays in the request's scope:
 * every store wait, the lease's and the transactions' session setup included, ends by the request's
 * deadline (REQUEST_TIMEOUT_MS) with STORE_UNAVAILABLE. A timer's run has no deadline of its own;
 * each of its waits is bounded by the statement limit (or, inside a maintenance transaction,
 * MAINTENANCE_TX_TIMEOUT_SECONDS), a second more for a link that hangs.
 */
async function observed<T>(job: string, run: () => Promise<T>): Promise<T> {
  const started = process.hrtime.bigint();
  let outcome = 'failed';
  try {
    const result = await run();
    outcome = (result as { ran?: unknown } | undefined)?.ran === false ? 'skipped' : 'ok';
    return result;
  } finally {
    maintenanceRuns.inc({ job, outcome });
    maintenanceDuration.observe({ job, outcome }, Number(process.hrtime.bigint() - started) / 1e9);
  }
}

/**
 * An operator's run found the lease held (by another replica, or by this one's timer): it does not
 * wait. Also a run that lost its lease mid-way (it ran past the lease's expiry, say frozen, and
 * another replica may have taken over): the details say so and what it had committed by then.
 */
export class MaintenanceBusyError extends DomainError {
  constructor(
    message: string,
    details: { lease: string; holder: string | null; since: string | null } & Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super('MAINTENANCE_BUSY', message, details);
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/** Who asked for a run through the API (null subject: AUTH_MODE=none); timer runs have no caller. */
export interface Caller {
  subject: string | null;
}

const GC_LEASE = 'maintenance';
const REVALIDATION_LEASE = 'revalidation';

/**
 * Garbage collection, history pruning and revalidation: each runs in one replica at a time under a
 * lease, on a timer and on demand. A run asked for through the API while the lease is held
 * elsewhere is refused at once (MAINTENANCE_BUSY, naming the holder and since when).
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
    // The holder id reaches operators (MAINTENANCE_BUSY): it names the replica, not its host.
    const holder = `replica-${process.pid}-${randomBytes(3).toString('hex')}`;
    log?.info({ holder }, 'maintenance replica id');
    this.leases = new LeaseManager(db, {
      holder,
      ttlSeconds: settings.leaseTtlSeconds,
      transactionTimeoutSeconds: settings.transactionTimeoutSeconds,
      log,
    });
  }

  async collectGarbage(dryRun: boolean, caller: Caller = { subject: null }): Promise<GcReport> {
    const trigger = this.logTrigger('collectGarbage', caller, { dryRun });
    const report = await observed('gc', () => this.exclusive(GC_LEASE, (run) => this.collector.collect(run, dryRun)));
    this.log?.info(
      { ...trigger, deleted: report.deleted.length, blocked: report.blocked.length, orphans: report.orphanRemoteRefsDeleted },
      'garbage collection done',
    );
    return report;
  }

  /** The replica whose garbage collection or pruning run holds the maintenance lease now, and since when. */
  gcLeaseHolder(): Promise<{ holder: string; since: string } | null> {
    return this.leases.heldNow(GC_LEASE);
  }

  async pruneHistory(rule: PruneRule, caller: Caller = { subject: null }): Promise<PruneReport> {
    const trigger = this.logTrigger('pruneHistory', caller, { keepLast: rule.keepLast ?? null, olderThan: rule.olderThan ?? null });
    const report = await observed('prune', () => this.exclusive(GC_LEASE, (run) => this.pruner.prune(run, rule)));
    this.log?.info({ ...trigger, ...report }, 'history pruning done');
    return report;
  }

  /** Every run says who or what started it: an API caller (by token subject) or the timer. */
  private logTrigger(job: string, caller: Caller, args: Record<string, unknown>) {
    const trigger = { job, trigger: 'api', subject: caller.subject ?? 'anonymous (AUTH_MODE=none)' };
    this.log?.info({ ...trigger, ...args }, `${job} requested`);
    return trigger;
  }

  revalidate(): Promise<RevalidationReport> {
    return observed('revalidation', () =>
      this.exclusive(REVALIDATION_LEASE, (run) =>
        revalidateStale(this.remote, {
          olderThanSeconds: this.settings.revalidateAfterSeconds,
          write: (fn) => run.transaction((tx) => fn(tx)),
        }),
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
    await this.forgetAppliedEvents();
    this.log?.info(
      {
        job: 'periodic',
        trigger: 'timer',
        deleted: gc.deleted.length,
        blocked: gc.blocked.length,
        orphans: gc.orphanRemoteRefsDeleted,
        pruned,
      },
      'maintenance run',
    );
  }

  /**
   * Forgets applied change-event ids older than their retention, a bounded batch per statement.
   * Any replica may run it (deleting old rows twice is harmless), so it needs no lease.
   */
  async forgetAppliedEvents(): Promise<number> {
    const cutoff = addSeconds(await this.db.now(), -this.settings.appliedEventRetentionSeconds);
    let total = 0;
    for (;;) {
      const old = await this.db.query<{ event_id: string }>(
        `SELECT event_id FROM applied_event WHERE applied_at < ? ORDER BY applied_at LIMIT 1000`,
        [cutoff],
      );
      if (!old.length) return total;
      total += await this.db.execute(
        `DELETE FROM applied_event WHERE event_id IN (${placeholders(old.length)})`,
        old.map((r) => r.event_id),
      );
      if (old.length < 1000) return total;
    }
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
    every(this.settings.gcIntervalSeconds, () =>
      observed('periodic', () => this.leases.runExclusive(GC_LEASE, (run) => this.periodic(run))),
    );
    // Applied event ids are forgotten on their own schedule, also with GC_INTERVAL_SECONDS=0.
    every(Math.min(3600, Math.max(1, Math.floor(this.settings.appliedEventRetentionSeconds / 4))), () => this.forgetAppliedEvents());
    every(this.settings.revalidateIntervalSeconds, () =>
      observed('revalidation', () =>
        this.leases.runExclusive(REVALIDATION_LEASE, (run) =>
          revalidateStale(this.remote, {
            olderThanSeconds: this.settings.revalidateAfterSeconds,
            write: (fn) => run.transaction((tx) => fn(tx)),
          }),
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

  /**
   * Runs the job under the lease, or refuses at once when it is held: an operator is told who holds
   * it. A run that stopped after committing batches says what it had done (explain).
   */
  private async exclusive<T>(name: string, job: (run: LeasedRun) => Promise<T>): Promise<T> {
    let result: Awaited<ReturnType<typeof this.leases.runExclusive<T>>>;
    try {
      result = await this.leases.runExclusive(name, job);
    } catch (e) {
      throw await this.explain(name, e);
    }
    if (result.ran) return result.result;
    const { holder, since } = await this.leases.holderOf(name);
    const at = since ? toIso(since) : null;
    throw new MaintenanceBusyError(
      `Maintenance (${name}) is running${holder ? ` in replica ${holder}` : ''}${at ? ` since ${at}` : ''}; try again when it has finished`,
      { lease: name, holder, since: at },
    );
  }

  /**
   * The error an operator gets for a run that stopped part-way. A lost lease is MAINTENANCE_BUSY
   * (another replica runs it now, or may: try again), with what was committed before in the
   * details; a store outage stays STORE_UNAVAILABLE and says the same in words. Anything else
   * (a bug) goes on unchanged.
   */
  private async explain(name: string, e: unknown): Promise<unknown> {
    // A job that does not report its progress still tells the operator the lease was lost.
    if (e instanceof LeaseLostError) e = new InterruptedRunError('an unknown part of its work', {}, 0, e);
    if (!(e instanceof InterruptedRunError)) return e;
    const cause = e.cause;
    if (cause instanceof LeaseLostError) {
      const now = await this.leases.holderOf(name).catch(() => null);
      const at = now?.since ? toIso(now.since) : null;
      const error = new MaintenanceBusyError(
        `Maintenance (${name}) lost its lease mid-run (it ran past the lease's expiry and another replica may have taken over): ` +
          `${e.done} before that, and they stay committed; run it again for the rest`,
        { lease: name, holder: now?.holder ?? null, since: at, leaseLost: true, ...e.progress },
        { cause },
      );
      this.log?.warn({ lease: name, ...e.progress }, 'maintenance run lost its lease');
      return error;
    }
    if (e.committed === 0) return cause;
    this.log?.warn({ lease: name, err: cause, ...e.progress }, 'maintenance run stopped part-way');
    if (cause instanceof StoreUnavailableError) {
      return new StoreUnavailableError(`${cause.reason}; the run stopped after ${e.done}, which stay committed`, { cause });
    }
    return cause;
  }
}
