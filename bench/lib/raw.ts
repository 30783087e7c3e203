import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';

/**
 * The driver itself, without TypeORM or the engine: what the floors are measured with, and what
 * bulk data generation writes through.
 */
export interface Raw {
  readonly kind: 'sqlite' | 'mysql';
  all<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** A write; returns the rows it changed. */
  run(sql: string, params?: unknown[]): Promise<number>;
  close(): Promise<void>;
}

export async function openRaw(url: string): Promise<Raw> {
  if (url.startsWith('sqlite:')) {
    const db = new Database(url.slice('sqlite:'.length), { fileMustExist: true, timeout: 10_000 });
    db.pragma('busy_timeout = 10000');
    db.pragma('foreign_keys = ON');
    return {
      kind: 'sqlite',
      all: async <T>(sql: string, params: unknown[] = []) => {
        const stmt = db.prepare(sql);
        if (stmt.reader) return stmt.all(...params) as T[];
        stmt.run(...params);
        return [];
      },
      run: async (sql, params = []) => db.prepare(sql).run(...params).changes,
      close: async () => void db.close(),
    };
  }
  const conn = await mysql.createConnection({
    uri: url.replace(/^mariadb:/, 'mysql:'),
    charset: 'utf8mb4',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: false,
  });
  return {
    kind: 'mysql',
    all: async <T>(sql: string, params: unknown[] = []) => (await conn.query(sql, params))[0] as T[],
    run: async (sql, params = []) => ((await conn.query(sql, params))[0] as { affectedRows?: number }).affectedRows ?? 0,
    close: () => conn.end(),
  };
}

/** Multi-row INSERTs of `rows` (arrays of column values), `perStatement` rows at a time. */
export async function bulkInsert(
  raw: Raw,
  table: string,
  columns: string[],
  rows: unknown[][],
  perStatement = raw.kind === 'sqlite' ? 400 : 1000,
): Promise<void> {
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  for (let i = 0; i < rows.length; i += perStatement) {
    const batch = rows.slice(i, i + perStatement);
    await raw.run(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${batch.map(() => tuple).join(', ')}`, batch.flat());
  }
}
