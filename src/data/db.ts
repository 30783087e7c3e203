import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DataSource, type DataSourceOptions, type QueryRunner } from 'typeorm';
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { entities } from './entities.js';
import { migrations } from './migrations/index.js';
import { StatementLog } from './statement-log.js';
import { addMicros, normalizeStored, type Timestamp } from './time.js';

export type DbKind = 'sqlite' | 'mysql';

/** What a repository needs to run SQL, inside or outside a transaction. */
export interface Sql {
  readonly kind: DbKind;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a write and returns the number of rows it changed. */
  execute(sql: string, params?: unknown[]): Promise<number>;
}

/** A transaction. Row locks are taken with `forUpdate` / `forShare` suffixes (empty on SQLite, which locks the whole file). */
export interface Tx extends Sql {
  /**
   * The database clock, read once per transaction at first use. Call it after taking the locks
   * the transaction needs, so a transaction that waited for a lock gets a later time.
   */
  now(): Promise<Timestamp>;
  readonly forUpdate: string;
  readonly forShare: string;
}

/**
 * Server-side limits for one transaction (MySQL/MariaDB; SQLite has no other connection to wait
 * on): a lock wait, a statement and an idle moment inside the transaction each end within
 * `timeoutSeconds`, so a client frozen mid-transaction loses its locks within twice that.
 */
export interface TransactionBounds {
  timeoutSeconds: number;
}

export interface DbOptions {
  url: string;
  statementLog?: StatementLog;
  poolSize?: number;
}

/** Transactions that lost a deadlock or a lock wait are run again from the start. */
const retryable = (e: Error) => {
  const errno = (e as { driverError?: { errno?: number } }).driverError?.errno ?? (e as { errno?: number }).errno;
  const code = (e as { driverError?: { code?: string } }).driverError?.code ?? (e as { code?: string }).code;
  return errno === 1213 || errno === 1205 || (typeof code === 'string' && code.startsWith('SQLITE_BUSY')) || e instanceof RetryTransaction;
};

/** Thrown inside a transaction to run it again (a row it relied on changed under it). */
export class RetryTransaction extends Error {}

export function parseDatabaseUrl(url: string): DataSourceOptions & { kind: DbKind } {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    return {
      kind: 'sqlite',
      type: 'better-sqlite3',
      database: path,
      prepareDatabase: (db: { pragma(s: string): unknown }) => {
        db.pragma('journal_mode = WAL');
        db.pragma('busy_timeout = 10000');
        db.pragma('foreign_keys = ON');
        db.pragma('synchronous = NORMAL');
      },
    } as DataSourceOptions & { kind: DbKind };
  }
  if (url.startsWith('mysql:') || url.startsWith('mariadb:')) {
    return {
      kind: 'mysql',
      type: 'mysql',
      url: url.replace(/^mariadb:/, 'mysql:'),
      charset: 'utf8mb4',
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: false,
    } as DataSourceOptions & { kind: DbKind };
  }
  throw new Error(`DATABASE_URL must start with mysql:// or sqlite: (got "${url.replace(/\/\/[^@]*@/, '//…@')}")`);
}

/** The operational store: one DataSource, the database clock, and transactions that retry on deadlock. */
export class Db implements Sql {
  readonly kind: DbKind;
  readonly statementLog: StatementLog;
  private sqliteQueue: Promise<unknown> = Promise.resolve();
  /** Set while a queued SQLite transaction runs: its own plain statements must not queue behind it. */
  private readonly sqliteOwner = new AsyncLocalStorage<true>();
  private flavor?: Promise<'mariadb' | 'mysql'>;
  private lastNow: Timestamp = '0000-00-00 00:00:00.000000';
  private readonly txRetry = retry(handleWhen(retryable), {
    maxAttempts: 8,
    backoff: new ExponentialBackoff({ initialDelay: 5, maxDelay: 200 }),
  });

  private constructor(
    readonly dataSource: DataSource,
    kind: DbKind,
    statementLog: StatementLog,
  ) {
    this.kind = kind;
    this.statementLog = statementLog;
  }

  static async open(options: DbOptions): Promise<Db> {
    const { kind, ...dsOptions } = parseDatabaseUrl(options.url);
    const statementLog = options.statementLog ?? new StatementLog();
    const ds = new DataSource({
      ...dsOptions,
      entities,
      migrations,
      migrationsTableName: 'typeorm_migrations',
      synchronize: false,
      logger: statementLog,
      logging: true,
      ...(kind === 'mysql' ? { poolSize: options.poolSize ?? 10 } : {}),
    } as DataSourceOptions);
    await ds.initialize();
    return new Db(ds, kind, statementLog);
  }

  /** Runs the committed migrations; replicas starting together take turns through a named lock. */
  async migrate(): Promise<void> {
    if (this.kind !== 'mysql') {
      await this.dataSource.runMigrations({ transaction: 'each' });
      return;
    }
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.query(`SELECT GET_LOCK('integrity_subgraph_migrations', 120) AS got`);
      await this.dataSource.runMigrations({ transaction: 'each' });
    } finally {
      await runner.query(`SELECT RELEASE_LOCK('integrity_subgraph_migrations')`).catch(() => undefined);
      await runner.release();
    }
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }

  query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.queued(() => this.dataSource.query(sql, params) as Promise<T[]>);
  }

  execute(sql: string, params: unknown[] = []): Promise<number> {
    return this.queued(async () => {
      const runner = this.dataSource.createQueryRunner();
      try {
        return (await runner.query(sql, params, true)).affected ?? 0;
      } finally {
        await runner.release();
      }
    });
  }

  /**
   * SQLite has one connection per process: a plain statement sent while a transaction is open
   * would run inside it (read its uncommitted rows, be rolled back with it). So every statement
   * waits its turn in the one queue transactions use.
   */
  private queued<T>(fn: () => Promise<T>): Promise<T> {
    if (this.kind !== 'sqlite' || this.sqliteOwner.getStore()) return fn();
    return this.serialized(fn);
  }

  /** The database clock, as a stored timestamp. */
  async now(): Promise<Timestamp> {
    const [row] = await this.query<{ now: string }>(this.nowSql);
    return this.monotonic(normalizeStored(row.now));
  }

  private get nowSql(): string {
    return this.kind === 'mysql'
      ? `SELECT DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%d %H:%i:%s.%f') AS now`
      : `SELECT strftime('%Y-%m-%d %H:%M:%f', 'now') AS now`;
  }

  /**
   * SQLite's clock has milliseconds; two changes in one millisecond would share a validFrom.
   * Within a process every reading is made strictly later than the one before.
   */
  private monotonic(ts: Timestamp): Timestamp {
    const next = ts > this.lastNow ? ts : addMicros(this.lastNow, 1);
    this.lastNow = next;
    return next;
  }

  /**
   * Runs `fn` in one transaction; it is run again from the start after a deadlock. With `bounds`
   * the server ends the transaction (and frees its locks) when it waits, runs or idles too long.
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>, bounds?: TransactionBounds): Promise<T> {
    return this.txRetry.execute(() =>
      this.kind === 'sqlite' ? this.serialized(() => this.sqliteOwner.run(true, () => this.runOnce(fn))) : this.runOnce(fn, bounds),
    );
  }

  /** better-sqlite3 has one connection per process: transactions must not interleave on it. */
  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.sqliteQueue.then(fn, fn);
    this.sqliteQueue = run.catch(() => undefined);
    return run;
  }

  private async runOnce<T>(fn: (tx: Tx) => Promise<T>, bounds?: TransactionBounds): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    const restore = bounds ? await this.bindSession(runner, bounds) : undefined;
    try {
      await runner.startTransaction();
      const tx = this.txFor(runner);
      const result = await fn(tx);
      await runner.commitTransaction();
      return result;
    } catch (e) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw e;
    } finally {
      if (restore) await runner.query(restore.sql, restore.params).catch(() => undefined);
      await runner.release();
    }
  }

  /**
   * Sets the session's lock-wait, statement and idle-in-transaction limits for one transaction
   * (saving the previous values in session variables, in the same statement) and returns the
   * statement that puts them back: the connection goes back to a pool. MariaDB:
   * innodb_lock_wait_timeout, max_statement_time, idle_transaction_timeout. MySQL:
   * innodb_lock_wait_timeout, max_execution_time (reads) and wait_timeout (an idle connection, in a
   * transaction or not, is closed and its transaction rolled back).
   */
  private async bindSession(runner: QueryRunner, bounds: TransactionBounds): Promise<{ sql: string; params: unknown[] }> {
    const seconds = Math.max(1, Math.ceil(bounds.timeoutSeconds));
    this.flavor ??= (async () => {
      const [row] = (await runner.query(`SELECT VERSION() AS v`)) as { v: string }[];
      return /mariadb/i.test(row.v) ? 'mariadb' : 'mysql';
    })();
    const vars: [string, number][] =
      (await this.flavor) === 'mariadb'
        ? [['innodb_lock_wait_timeout', seconds], ['max_statement_time', seconds], ['idle_transaction_timeout', seconds]]
        : [['innodb_lock_wait_timeout', seconds], ['max_execution_time', seconds * 1000], ['wait_timeout', seconds]];
    const saved = (i: number) => `@isg_bound_${i}`;
    await runner.query(
      `SET ${vars.map(([v], i) => `${saved(i)} = @@SESSION.${v}`).join(', ')}, ${vars.map(([v]) => `SESSION ${v} = ?`).join(', ')}`,
      vars.map(([, n]) => n),
    );
    return { sql: `SET ${vars.map(([v], i) => `SESSION ${v} = ${saved(i)}`).join(', ')}`, params: [] };
  }

  private txFor(runner: QueryRunner): Tx {
    let now: Timestamp | undefined;
    const mysql = this.kind === 'mysql';
    return {
      kind: this.kind,
      forUpdate: mysql ? ' FOR UPDATE' : '',
      forShare: mysql ? ' LOCK IN SHARE MODE' : '',
      query: <R>(sql: string, params: unknown[] = []) => runner.query(sql, params) as Promise<R[]>,
      execute: async (sql: string, params: unknown[] = []) => (await runner.query(sql, params, true)).affected ?? 0,
      now: async () => {
        if (!now) {
          const [row] = (await runner.query(this.nowSql)) as { now: string }[];
          now = this.monotonic(normalizeStored(row.now));
        }
        return now;
      },
    };
  }
}

/** `INSERT IGNORE` in the store's dialect: the row is skipped when a unique key already holds it. */
export function insertIgnore(sql: Pick<Sql, 'kind'>): string {
  return sql.kind === 'mysql' ? 'INSERT IGNORE' : 'INSERT OR IGNORE';
}

export function isUniqueViolation(e: unknown): boolean {
  const err = e as { driverError?: { code?: string; errno?: number }; code?: string; errno?: number };
  const code = err.driverError?.code ?? err.code;
  const errno = err.driverError?.errno ?? err.errno;
  return errno === 1062 || code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
