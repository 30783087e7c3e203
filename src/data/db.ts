import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DataSource, type DataSourceOptions, type QueryRunner } from 'typeorm';
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { currentScope, outsideRequest } from '../observability/request-scope.js';
import { inSpan, tracingEnabled } from '../observability/tracing.js';
import { directReader, type DirectReader } from './direct-reads.js';
import { entities } from './entities.js';
import { migrations } from './migrations/index.js';
import { StatementLog } from './statement-log.js';
import { StoreUnavailableError, asStoreError } from './store-errors.js';
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
  /**
   * The longest one statement may take: MariaDB's max_statement_time (MySQL's max_execution_time)
   * per session, a client-side timer a second later for a link that hangs, the pool's connect
   * timeout, and SQLite's busy timeout. Default 5000.
   */
  statementTimeoutMs?: number;
}

export const DEFAULT_STATEMENT_TIMEOUT_MS = 5000;
/** The client-side timer's margin over the server's own limit, so a slow statement is ended by the server (cleanly) first. */
const CLIENT_GRACE_MS = 1000;

/** The named lock replicas take turns through to migrate (MySQL/MariaDB), and how long one waits for it. */
const MIGRATIONS_TABLE = 'typeorm_migrations';
const MIGRATION_LOCK = 'integrity_subgraph_migrations';
const MIGRATION_LOCK_WAIT_SECONDS = 120;

/** Transactions that lost a deadlock or a lock wait are run again from the start. */
const retryable = (e: Error) => {
  const errno = (e as { driverError?: { errno?: number } }).driverError?.errno ?? (e as { errno?: number }).errno;
  const code = (e as { driverError?: { code?: string } }).driverError?.code ?? (e as { code?: string }).code;
  return errno === 1213 || errno === 1205 || (typeof code === 'string' && code.startsWith('SQLITE_BUSY'));
};

export function parseDatabaseUrl(url: string, statementTimeoutMs = DEFAULT_STATEMENT_TIMEOUT_MS): DataSourceOptions & { kind: DbKind } {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    return {
      kind: 'sqlite',
      type: 'better-sqlite3',
      database: path,
      prepareDatabase: (db: { pragma(s: string): unknown }) => {
        db.pragma('journal_mode = WAL');
        db.pragma(`busy_timeout = ${Math.round(statementTimeoutMs)}`);
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
      connectTimeout: statementTimeoutMs,
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
  /** Which server answers on MySQL's protocol: their session variables for time limits differ. */
  private flavor: 'mariadb' | 'mysql' = 'mariadb';
  /** Server-side statement limits are off while migrations run (they may take long, and wait for each other). */
  private limitSessions = false;
  private readonly abandoned = new WeakSet<QueryRunner>();
  /** Connections inside a bounded (maintenance) transaction, with its statement limit in ms. */
  private readonly boundedRunners = new WeakMap<QueryRunner, number>();
  private lastNow: Timestamp = '0000-00-00 00:00:00.000000';
  private readonly reader: DirectReader;
  /**
   * InnoDB picks the smaller transaction as a deadlock's victim, so under many replicas a short
   * mark or cancel can lose to marking and collection batches several times in a row (the
   * gc-replicas stress test saw 8 in a row): retried up to 20 times, spread out to half a second,
   * within the request's deadline.
   */
  private readonly txRetry = retry(handleWhen(retryable), {
    maxAttempts: 20,
    backoff: new ExponentialBackoff({ initialDelay: 10, maxDelay: 500 }),
  });

  private constructor(
    readonly dataSource: DataSource,
    kind: DbKind,
    statementLog: StatementLog,
    readonly statementTimeoutMs: number,
  ) {
    this.kind = kind;
    this.statementLog = statementLog;
    this.reader = directReader(dataSource, kind);
  }

  static async open(options: DbOptions): Promise<Db> {
    const statementTimeoutMs = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
    const { kind, ...dsOptions } = parseDatabaseUrl(options.url, statementTimeoutMs);
    const statementLog = options.statementLog ?? new StatementLog();
    const ds = new DataSource({
      ...dsOptions,
      entities,
      migrations,
      migrationsTableName: MIGRATIONS_TABLE,
      synchronize: false,
      logger: statementLog,
      logging: true,
      ...(kind === 'mysql' ? { poolSize: options.poolSize ?? 10 } : {}),
    } as DataSourceOptions);
    try {
      await ds.initialize();
    } catch (e) {
      throw asStoreError(e);
    }
    const db = new Db(ds, kind, statementLog, statementTimeoutMs);
    if (kind === 'mysql') {
      const [{ version }] = await db.query<{ version: string }>('SELECT VERSION() AS version');
      db.flavor = /mariadb/i.test(version) ? 'mariadb' : 'mysql';
      db.limitStatementsPerSession();
    }
    return db;
  }

  /**
   * Sets the server-side statement limit on every pooled connection the first time it is handed
   * out (after migrations). mysql2 runs a connection's commands in order, so the SET precedes the
   * statement the connection was acquired for.
   */
  private limitStatementsPerSession(): void {
    const sql =
      this.flavor === 'mariadb'
        ? `SET SESSION max_statement_time = ${this.statementTimeoutMs / 1000}`
        : `SET SESSION max_execution_time = ${Math.round(this.statementTimeoutMs)}`;
    type PooledConnection = { query(sql: string, cb: (err: Error | null) => void): void };
    const pool = (this.dataSource.driver as unknown as { pool?: { on(event: 'acquire', fn: (c: PooledConnection) => void): void } }).pool;
    const limited = new WeakSet<PooledConnection>();
    pool?.on('acquire', (connection) => {
      if (!this.limitSessions || limited.has(connection)) return;
      limited.add(connection);
      connection.query(sql, (err) => {
        if (err) this.statementLog.log('warn', `could not set the statement time limit: ${err.message}`);
      });
    });
  }

  /**
   * Runs the pending committed migrations and answers their names, oldest first. Replicas
   * starting together take turns through a named lock (MySQL/MariaDB; SQLite has one writer), so
   * the second finds nothing pending and each migration runs once.
   */
  async migrate(): Promise<string[]> {
    if (this.kind !== 'mysql') {
      const ran = await this.dataSource.runMigrations({ transaction: 'each' }).catch((e: unknown) => Promise.reject(asStoreError(e)));
      return ran.map((m) => m.name);
    }
    const runner = this.dataSource.createQueryRunner();
    try {
      const [{ got }] = (await runner.query(`SELECT GET_LOCK('${MIGRATION_LOCK}', ${MIGRATION_LOCK_WAIT_SECONDS}) AS got`)) as Array<{
        got: number | null;
      }>;
      if (Number(got) !== 1) {
        throw new StoreUnavailableError(
          `another process has been migrating for over ${MIGRATION_LOCK_WAIT_SECONDS} seconds (lock ${MIGRATION_LOCK})`,
        );
      }
      const ran = await this.dataSource.runMigrations({ transaction: 'each' });
      return ran.map((m) => m.name);
    } catch (e) {
      throw asStoreError(e);
    } finally {
      await runner.query(`SELECT RELEASE_LOCK('${MIGRATION_LOCK}')`).catch(() => undefined);
      await runner.release();
      this.limitSessions = true;
    }
  }

  /**
   * The names of the committed migrations this store has not applied yet, oldest first. Only
   * reads (TypeORM's own check would create its table), so a role without DDL rights may ask.
   */
  async pendingMigrations(): Promise<string[]> {
    try {
      const tableExists =
        this.kind === 'mysql'
          ? `SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`
          : `SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?`;
      const applied = (await this.query(tableExists, [MIGRATIONS_TABLE])).length
        ? new Set((await this.query<{ name: string }>(`SELECT name FROM ${MIGRATIONS_TABLE}`)).map((r) => r.name))
        : new Set<string>();
      return this.dataSource.migrations.map((m) => m.name ?? m.constructor.name).filter((name) => !applied.has(name));
    } catch (e) {
      throw asStoreError(e);
    } finally {
      this.limitSessions = true;
    }
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }

  /** A read outside any transaction, straight through the driver (src/data/direct-reads.ts), in the queue and within the limits. */
  query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.queued(() => this.direct<T>(sql, params, false));
  }

  /** Like `query`, each row an array of its values in select order: no object per row (hot-path pages). */
  queryValues(sql: string, params: unknown[] = []): Promise<unknown[][]> {
    return this.queued(() => this.direct<unknown[]>(sql, params, true));
  }

  execute(sql: string, params: unknown[] = []): Promise<number> {
    const once = () =>
      this.queued(() =>
        this.single((runner) =>
          this.bounded(
            () => this.abandon(runner),
            sql,
            async () => (await runner.query(sql, params, true)).affected ?? 0,
          ),
        ),
      );
    // InnoDB can pick a single autocommit statement as a deadlock victim; it was rolled back
    // whole, so it is run again like a transaction would be.
    return this.kind === 'mysql' ? this.txRetry.execute(once) : once();
  }

  /**
   * One read on a connection of its own without TypeORM's runner: the same connect bound,
   * statement limit, request deadline, span and error mapping as `single`, and the statement log
   * (TypeORM logs only what goes through its runner).
   */
  private async direct<T>(sql: string, params: unknown[], arrays: boolean): Promise<T[]> {
    const pending = this.reader.acquire();
    let connection: Awaited<typeof pending>;
    try {
      connection = await this.bounded(
        () => undefined,
        'connect',
        () => pending,
      );
    } catch (e) {
      // A connection that arrives after we gave up goes straight back to the pool.
      pending.then(
        (c) => c.release(),
        () => undefined,
      );
      throw asStoreError(e);
    }
    try {
      this.statementLog.statement(sql);
      return await this.bounded(
        () => connection.destroy(),
        sql,
        () => connection.query<T>(sql, params, arrays),
      );
    } catch (e) {
      throw asStoreError(e);
    } finally {
      connection.release();
    }
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

  /** One statement outside a transaction, on a connection of its own; a lock it lost is an outage here. */
  private async single<T>(fn: (runner: QueryRunner) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    try {
      await this.connect(runner);
      return await fn(runner);
    } catch (e) {
      throw asStoreError(e);
    } finally {
      await runner.release();
    }
  }

  /** Takes a pooled connection, waiting no longer than a statement may. */
  private async connect(runner: QueryRunner): Promise<void> {
    const pending = runner.connect() as Promise<unknown>;
    try {
      await this.bounded(
        () => this.abandon(runner),
        'connect',
        () => pending,
      );
    } catch (e) {
      // A connection that arrives after we gave up goes straight back to the pool.
      pending.then(
        (c) => (c as { release?: () => void }).release?.(),
        () => undefined,
      );
      throw e;
    }
  }

  /**
   * Runs one statement within the statement limit and what is left of the request's deadline.
   * MySQL/MariaDB: the server ends a slow statement itself; the client-side timer, a second later,
   * is for a link that no longer answers, and discards the connection. SQLite's driver is
   * synchronous: its busy timeout is the limit. Outages become StoreUnavailableError, except
   * lost lock waits, which the transaction retries.
   */
  private bounded<T>(abandon: () => void, sql: string, run: () => Promise<T>, statementMs = this.statementTimeoutMs): Promise<T> {
    const scope = currentScope();
    let limit = this.kind === 'mysql' ? statementMs + CLIENT_GRACE_MS : Infinity;
    if (scope) {
      const left = scope.deadline - Date.now();
      if (left <= 0) return Promise.reject(new StoreUnavailableError('timed out (the request ran out of time)'));
      if (this.kind === 'mysql') limit = Math.min(limit, left);
    }
    const exec = async (): Promise<T> => {
      if (limit === Infinity) return run();
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const timedOut = new Promise<never>((_, reject) => {
        // The verdict waits for the I/O phase after the timer: a process that was paused (SIGSTOP,
        // a frozen VM) finds both the timer due and the answer already in its socket on waking.
        timer = setTimeout(
          () =>
            setImmediate(() => {
              if (settled) return;
              abandon();
              reject(new StoreUnavailableError('timed out'));
            }),
          limit,
        );
      });
      try {
        return await Promise.race([run(), timedOut]);
      } finally {
        settled = true;
        clearTimeout(timer);
      }
    };
    const result = tracingEnabled()
      ? inSpan(
          `db ${sql.trimStart().split(/\s/, 1)[0].toUpperCase()}`,
          { 'db.system': this.kind === 'mysql' ? 'mysql' : 'sqlite', 'db.statement': sql.slice(0, 500) },
          exec,
        )
      : exec();
    return result.catch((e: unknown) => {
      throw retryable(e as Error) ? e : asStoreError(e);
    });
  }

  /** A connection whose statement did not come back cannot be trusted with another: close it. */
  private abandon(runner: QueryRunner): void {
    this.abandoned.add(runner);
    (runner as unknown as { databaseConnection?: { destroy?: () => void } }).databaseConnection?.destroy?.();
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
    return this.txRetry
      .execute(() =>
        this.kind === 'sqlite' ? this.serialized(() => this.sqliteOwner.run(true, () => this.runOnce(fn))) : this.runOnce(fn, bounds),
      )
      .catch((e: unknown) => {
        throw asStoreError(e);
      });
  }

  /** better-sqlite3 has one connection per process: transactions must not interleave on it. */
  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.sqliteQueue.then(fn, fn);
    this.sqliteQueue = run.catch(() => undefined);
    return run;
  }

  private async runOnce<T>(fn: (tx: Tx) => Promise<T>, bounds?: TransactionBounds): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    const abandon = () => this.abandon(runner);
    let restore: { sql: string; params: unknown[] } | undefined;
    try {
      await this.connect(runner);
      if (bounds) {
        restore = await this.bindSession(runner, bounds);
        this.boundedRunners.set(runner, Math.max(1, Math.ceil(bounds.timeoutSeconds)) * 1000);
      }
      await this.bounded(abandon, 'START TRANSACTION', () => runner.startTransaction());
      const tx = this.txFor(runner);
      const result = await fn(tx);
      await this.bounded(abandon, 'COMMIT', () => runner.commitTransaction(), this.boundedRunners.get(runner));
      return result;
    } catch (e) {
      // An abandoned connection is closed: the server rolls its transaction back.
      if (runner.isTransactionActive && !this.abandoned.has(runner))
        await this.cleanUp(runner, 'ROLLBACK', () => runner.rollbackTransaction());
      throw e;
    } finally {
      if (restore && !this.abandoned.has(runner)) {
        const { sql, params } = restore;
        await this.cleanUp(runner, sql, () => runner.query(sql, params));
      }
      await runner.release();
    }
  }

  /**
   * Puts a connection back in order before it returns to the pool (rollback, session limits). It
   * must happen even when the request is out of time, so it runs on the statement limit instead of
   * the deadline; a connection that could not be put back in order is closed, never reused.
   */
  private async cleanUp(runner: QueryRunner, sql: string, run: () => Promise<unknown>): Promise<void> {
    const abandon = () => this.abandon(runner);
    try {
      await outsideRequest(() => this.bounded(abandon, sql, run));
    } catch {
      abandon();
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
    const vars: [string, number][] =
      this.flavor === 'mariadb'
        ? [
            ['innodb_lock_wait_timeout', seconds],
            ['max_statement_time', seconds],
            ['idle_transaction_timeout', seconds],
          ]
        : [
            ['innodb_lock_wait_timeout', seconds],
            ['max_execution_time', seconds * 1000],
            ['wait_timeout', seconds],
          ];
    const saved = (i: number) => `@isg_bound_${i}`;
    const sql = `SET ${vars.map(([v], i) => `${saved(i)} = @@SESSION.${v}`).join(', ')}, ${vars.map(([v]) => `SESSION ${v} = ?`).join(', ')}`;
    // Sent like any statement: within the statement limit and the request's deadline (a hung link
    // would otherwise hold a maintenance run, and the operator who asked for it, for good).
    await this.bounded(
      () => this.abandon(runner),
      sql,
      () =>
        runner.query(
          sql,
          vars.map(([, n]) => n),
        ),
    );
    return { sql: `SET ${vars.map(([v], i) => `SESSION ${v} = ${saved(i)}`).join(', ')}`, params: [] };
  }

  private txFor(runner: QueryRunner): Tx {
    let now: Timestamp | undefined;
    const mysql = this.kind === 'mysql';
    const abandon = () => this.abandon(runner);
    // A bounded maintenance transaction sets the server's statement limit to its own bound: the
    // client waits for that one, or it would give up on statements the server still allows.
    const statementMs = this.boundedRunners.get(runner);
    return {
      kind: this.kind,
      forUpdate: mysql ? ' FOR UPDATE' : '',
      forShare: mysql ? ' LOCK IN SHARE MODE' : '',
      query: <R>(sql: string, params: unknown[] = []) =>
        this.bounded(abandon, sql, () => runner.query(sql, params) as Promise<R[]>, statementMs),
      execute: (sql: string, params: unknown[] = []) =>
        this.bounded(abandon, sql, async () => (await runner.query(sql, params, true)).affected ?? 0, statementMs),
      now: async () => {
        if (!now) {
          const [row] = await this.bounded(
            abandon,
            this.nowSql,
            () => runner.query(this.nowSql) as Promise<{ now: string }[]>,
            statementMs,
          );
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
