import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';

/**
 * Fresh stores for one benchmark (copied from test/support/stores.ts, which bench code must not
 * import): a SQLite file in a temporary directory, or a database of its own on the MariaDB server
 * named by BENCH_MYSQL_URL, dropped afterwards.
 */

export type StoreKind = 'sqlite' | 'mariadb';

export interface TempStore {
  url: string;
  drop(): Promise<void>;
}

const uniqueName = (prefix: string) => `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function tempMysql(serverUrl: string, prefix = 'bench'): Promise<TempStore> {
  const name = uniqueName(prefix);
  const conn = await mysql.createConnection(serverUrl);
  try {
    await conn.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await conn.end();
  }
  return {
    url: withDatabase(serverUrl, name),
    async drop() {
      const c = await mysql.createConnection(serverUrl);
      try {
        await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await c.end();
      }
    },
  };
}

export function tempSqlite(file: string): TempStore {
  const dir = mkdtempSync(join(tmpdir(), 'isg-bench-'));
  return {
    url: `sqlite:${join(dir, file)}`,
    async drop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function tempOperationalStore(kind: StoreKind, mysqlUrl?: string): Promise<TempStore> {
  if (kind === 'sqlite') return Promise.resolve(tempSqlite('operational.sqlite'));
  if (!mysqlUrl) throw new Error('BENCH_MYSQL_URL is not set');
  return tempMysql(mysqlUrl, 'bench_op');
}
