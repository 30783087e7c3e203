import type Database from 'better-sqlite3';
import type { DataSource } from 'typeorm';
import type { DbKind } from './db.js';

/** One connection for one read: `arrays` returns each row as an array of its values in select order. */
export interface DirectConnection {
  query<T>(sql: string, params: unknown[], arrays: boolean): Promise<T[]>;
  /** Back to the pool. */
  release(): void;
  /** A connection whose statement did not come back: closed, never reused. */
  destroy(): void;
}

/** Hands out connections for reads outside transactions (Db decides when, and bounds the wait). */
export interface DirectReader {
  acquire(): Promise<DirectConnection>;
}

interface MysqlPoolConnection {
  query(options: { sql: string; values: unknown[]; rowsAsArray: boolean }, callback: (err: Error | null, rows: unknown) => void): void;
  release(): void;
  destroy(): void;
}

interface MysqlPool {
  getConnection(callback: (err: Error | null, connection: MysqlPoolConnection) => void): void;
}

/** Statement texts kept prepared; the hot path uses a handful, chunked IN lists add a few per size. */
const MAX_PREPARED = 500;

/**
 * Reads that are not part of a transaction skip TypeORM's query runner (a runner object, a
 * broadcaster and a result wrapper per statement) and go to the connection TypeORM opened:
 * better-sqlite3 statements stay prepared, keyed by their text; MySQL/MariaDB reads take a
 * connection from mysql2's pool (getConnection, so the pool's 'acquire' hook sets the session's
 * statement time limit as for every other statement). TypeORM still owns the DataSource, the
 * migrations, writes and every transaction; Db keeps the queue, the time limits and the error
 * mapping around these reads.
 */
export function directReader(dataSource: DataSource, kind: DbKind): DirectReader {
  if (kind === 'sqlite') {
    const prepared = [new Map<string, Database.Statement>(), new Map<string, Database.Statement>()];
    const connection: DirectConnection = {
      query: async <T>(sql: string, params: unknown[], arrays: boolean) => {
        // Read at use: TypeORM opens (and may reopen) the connection.
        const db = (dataSource.driver as unknown as { databaseConnection: Database.Database }).databaseConnection;
        const cache = prepared[arrays ? 1 : 0];
        let stmt = cache.get(sql);
        if (!stmt || stmt.database !== db) {
          if (cache.size >= MAX_PREPARED) cache.clear();
          stmt = db.prepare(sql);
          if (arrays) stmt.raw(true);
          cache.set(sql, stmt);
        }
        // better-sqlite3 binds no booleans (TypeORM's runner converts them the same way).
        const values = params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p));
        if (stmt.reader) return stmt.all(...values) as T[];
        stmt.run(...values);
        return [];
      },
      release: () => undefined,
      destroy: () => undefined,
    };
    return { acquire: async () => connection };
  }
  const pool = () => (dataSource.driver as unknown as { pool: MysqlPool }).pool;
  return {
    acquire: () =>
      new Promise<DirectConnection>((resolve, reject) =>
        pool().getConnection((err, c) => {
          if (err) return reject(err);
          resolve({
            query: <T>(sql: string, params: unknown[], arrays: boolean) =>
              new Promise<T[]>((res, rej) =>
                c.query({ sql, values: params, rowsAsArray: arrays }, (e, rows) => (e ? rej(e) : res(rows as T[]))),
              ),
            release: () => c.release(),
            destroy: () => c.destroy(),
          });
        }),
      ),
  };
}
