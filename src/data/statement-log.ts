import type { Logger as TypeOrmLogger } from 'typeorm';
import type { Logger } from 'pino';

export type StatementListener = (sql: string) => void;

/**
 * TypeORM calls `logQuery` for every statement it sends, transactions' BEGIN/COMMIT included;
 * listeners (tests, benchmarks) count them from here.
 */
export class StatementLog implements TypeOrmLogger {
  private readonly listeners = new Set<StatementListener>();

  constructor(private readonly out?: Logger) {}

  listen(listener: StatementListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A statement sent around TypeORM (src/data/direct-reads.ts); costs nothing while nobody listens. */
  statement(query: string): void {
    if (this.listeners.size) for (const l of this.listeners) l(query);
  }

  logQuery(query: string): void {
    if (this.listeners.size) for (const l of this.listeners) l(query);
  }
  logQueryError(error: string | Error, query: string): void {
    this.out?.debug({ err: error, query }, 'statement failed');
  }
  logQuerySlow(time: number, query: string): void {
    this.out?.warn({ time, query }, 'slow statement');
  }
  logSchemaBuild(message: string): void {
    this.out?.debug(message);
  }
  logMigration(message: string): void {
    this.out?.info(message);
  }
  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') this.out?.warn(String(message));
    else this.out?.debug(String(message));
  }
}

/** Counts statements while `fn` runs (every statement of the process, so run it alone). */
export async function countStatements<T>(log: StatementLog, fn: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  const statements: string[] = [];
  const stop = log.listen((sql) => statements.push(sql));
  try {
    const result = await fn();
    return { result, statements };
  } finally {
    stop();
  }
}
