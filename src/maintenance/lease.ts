import type { Logger } from 'pino';
import { insertIgnore, type Db, type TransactionBounds, type Tx } from '../data/db.js';
import { addSeconds, type Timestamp } from '../data/time.js';
import { leaseHeld } from '../observability/metrics.js';
import { currentScope, outsideRequest } from '../observability/request-scope.js';

/**
 * Lease locks with fencing tokens, for jobs (GC, history pruning) that must run in one replica at
 * a time. This is the only module that knows about locks: a job gets a `LeasedRun` and does every
 * write through `run.transaction`, which checks the token in the same database transaction as the
 * write. So a replica that died frees the lease when it expires, and one that paused past its
 * lease cannot write once another replica has taken over.
 */

/** A write's token check failed: the lease expired or another holder took it over. */
export class LeaseLostError extends Error {
  constructor(
    readonly lease: string,
    readonly token: number,
  ) {
    super(`lease "${lease}" with token ${token} is no longer held`);
    this.name = 'LeaseLostError';
  }
}

export interface LeasedRun {
  /** Fencing token: the lease row's counter, +1 on every acquisition. */
  readonly token: number;
  /**
   * One transaction of the run: locks the lease row, checks it still has this token and has not
   * expired, extends it by the ttl, then runs `fn`. Throws `LeaseLostError` (writing nothing) otherwise.
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
}

export interface LeaseOptions {
  /** Who holds the lease (replica id); stored for operators, the token is what is checked. */
  holder: string;
  ttlSeconds: number;
  /**
   * Server-side bound on every lease transaction (lock wait, statement, idle time inside it; see
   * Db.transaction): a holder frozen inside one loses its row locks within twice this, so the
   * lease can be taken over at expiry plus that bound. Default 10 seconds.
   */
  transactionTimeoutSeconds?: number;
  log?: Logger;
}

/** Who holds a lease, for an operator who was told to wait. */
export interface LeaseHolder {
  holder: string | null;
  since: Timestamp | null;
  expiresAt: Timestamp | null;
}

export const DEFAULT_LEASE_TRANSACTION_SECONDS = 10;

export type ExclusiveResult<T> = { ran: true; result: T } | { ran: false };

interface LeaseRow {
  token: number | string;
  expires_at: string | null;
}

export class LeaseManager {
  private readonly known = new Set<string>();
  private readonly bounds: TransactionBounds;

  constructor(
    private readonly db: Db,
    private readonly options: LeaseOptions,
  ) {
    if (!(options.ttlSeconds > 0)) throw new Error('ttlSeconds must be positive');
    this.bounds = { timeoutSeconds: options.transactionTimeoutSeconds ?? DEFAULT_LEASE_TRANSACTION_SECONDS };
  }

  /** The lease's last committed state (a plain read: it never waits for a holder's lock). */
  async holderOf(name: string): Promise<LeaseHolder> {
    const [row] = await this.db.query<{ holder: string | null; acquired_at: string | null; expires_at: string | null }>(
      `SELECT holder, acquired_at, expires_at FROM lease WHERE name = ?`,
      [name],
    );
    return { holder: row?.holder ?? null, since: row?.acquired_at ?? null, expiresAt: row?.expires_at ?? null };
  }

  /** Who holds the lease now (taken, not released, not expired by the database clock); null when it is free. */
  async heldNow(name: string): Promise<{ holder: string; since: Timestamp } | null> {
    const { holder, since, expiresAt } = await this.holderOf(name);
    if (!holder || !since || !expiresAt) return null;
    return isFree({ token: 0, expires_at: expiresAt }, await this.db.now()) ? null : { holder, since };
  }

  /**
   * Acquires the named lease if it is free or expired, runs `job`, and releases the lease.
   * Returns `{ ran: false }` at once when another replica holds it. An error from `job` is rethrown
   * after the release.
   */
  async runExclusive<T>(name: string, job: (run: LeasedRun) => Promise<T>): Promise<ExclusiveResult<T>> {
    const token = await this.acquire(name);
    if (token === null) {
      this.options.log?.debug({ lease: name }, 'lease held elsewhere, skipping');
      return { ran: false };
    }
    // Every tick takes and frees a lease: debug, not info, or the log is mostly leases.
    this.options.log?.debug({ lease: name, token, holder: this.options.holder }, 'lease acquired');
    leaseHeld.set({ lease: name }, 1);
    try {
      const result = await job(this.leasedRun(name, token));
      return { ran: true, result };
    } finally {
      await this.releaseInTime(name, token);
      leaseHeld.set({ lease: name }, 0);
    }
  }

  private async acquire(name: string): Promise<number | null> {
    await this.ensureRow(name);
    const { holder, ttlSeconds } = this.options;
    return this.db.transaction(async (tx) => {
      // Waiting for the row lock would mean waiting on a replica that is running (or frozen
      // inside a transaction): report "held" instead.
      const row = await lockRow(tx, name, { noWait: true });
      if (!row) return null;
      const now = await tx.now();
      if (!isFree(row, now)) return null;
      const changed = await tx.execute(
        `UPDATE lease SET holder = ?, token = token + 1, expires_at = ?, acquired_at = ? WHERE name = ? AND (expires_at IS NULL OR expires_at < ?)`,
        [holder, addSeconds(now, ttlSeconds), now, name, now],
      );
      return changed === 1 ? Number(row.token) + 1 : null;
    }, this.bounds);
  }

  private leasedRun(name: string, token: number): LeasedRun {
    const { db, bounds } = this;
    const { ttlSeconds, log } = this.options;
    return {
      token,
      transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
        return db.transaction(async (tx) => {
          // The row lock is held to commit, so a takeover cannot slip in between check and write.
          const row = await lockRow(tx, name, { noWait: false });
          const now = await tx.now();
          if (!row || Number(row.token) !== token || !isHeld(row, now)) {
            log?.warn({ lease: name, token, current: row ? Number(row.token) : null }, 'lease lost, write refused');
            throw new LeaseLostError(name, token);
          }
          await tx.execute(`UPDATE lease SET expires_at = ? WHERE name = ? AND token = ?`, [addSeconds(now, ttlSeconds), name, token]);
          return fn(tx);
        }, bounds);
      },
    };
  }

  /**
   * A run asked for through the API releases within its request's deadline. Past it (the run ended
   * because the request ran out of time), the answer does not wait: the release goes on outside the
   * request, on the statement limit (the ttl frees the lease should it fail).
   */
  private releaseInTime(name: string, token: number): Promise<void> {
    const scope = currentScope();
    if (!scope || scope.deadline > Date.now()) return this.release(name, token);
    void outsideRequest(() => this.release(name, token));
    return Promise.resolve();
  }

  /** Frees the lease only if it is still ours; a failure is logged, the ttl frees it anyway. */
  private async release(name: string, token: number): Promise<void> {
    try {
      const changed = await this.db.execute(
        `UPDATE lease SET holder = NULL, expires_at = NULL, acquired_at = NULL WHERE name = ? AND token = ?`,
        [name, token],
      );
      if (changed === 1) this.options.log?.debug({ lease: name, token }, 'lease released');
      else this.options.log?.warn({ lease: name, token }, 'lease already taken over');
    } catch (err) {
      this.options.log?.error({ err, lease: name, token }, 'lease release failed; it frees itself at expiry');
    }
  }

  /** Lease rows other than the migrated 'maintenance' one are created on first use. */
  private async ensureRow(name: string): Promise<void> {
    if (this.known.has(name)) return;
    // A plain read first: INSERT IGNORE on an existing row would wait for a holder's row lock.
    const rows = await this.db.query(`SELECT name FROM lease WHERE name = ?`, [name]);
    if (rows.length === 0) {
      await this.db.execute(`${insertIgnore(this.db)} INTO lease (name, holder, token, expires_at) VALUES (?, NULL, 0, NULL)`, [name]);
    }
    this.known.add(name);
  }
}

/** Free: never taken, released, or expired. Held is the exact complement, so leases never overlap. */
function isFree(row: LeaseRow, now: Timestamp): boolean {
  return row.expires_at === null || row.expires_at < now;
}

function isHeld(row: LeaseRow, now: Timestamp): boolean {
  return !isFree(row, now);
}

/**
 * Locks the lease row for the rest of the transaction and reads it. Returns null when `noWait` and
 * another transaction holds the lock (MySQL/MariaDB only).
 */
async function lockRow(tx: Tx, name: string, { noWait }: { noWait: boolean }): Promise<LeaseRow | null> {
  if (tx.kind === 'sqlite') {
    // A write first takes SQLite's write lock before the read snapshot; read-then-write would fail
    // with SQLITE_BUSY_SNAPSHOT when another process wrote in between.
    await tx.execute(`UPDATE lease SET token = token WHERE name = ?`, [name]);
  }
  try {
    const [row] = await tx.query<LeaseRow>(
      `SELECT token, expires_at FROM lease WHERE name = ?${tx.forUpdate}${noWait && tx.kind === 'mysql' ? ' NOWAIT' : ''}`,
      [name],
    );
    return row ?? null;
  } catch (e) {
    if (noWait && isLockNotGranted(e)) return null;
    throw e;
  }
}

/** MariaDB reports NOWAIT as a lock wait timeout (1205), MySQL 8 as ER_LOCK_NOWAIT (3572). */
function isLockNotGranted(e: unknown): boolean {
  const err = e as { driverError?: { errno?: number }; errno?: number };
  const errno = err.driverError?.errno ?? err.errno;
  return errno === 1205 || errno === 3572;
}
