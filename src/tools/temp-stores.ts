import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';

/**
 * Throw-away databases for tests and benchmarks: each call makes a store of its own (so runs can
 * go side by side) and `drop()` removes it. Development tooling; the subgraph never uses it.
 */

export interface TempStore {
  url: string;
  drop(): Promise<void>;
}

/** TEST_DB_PREFIX goes before every name (a shared server; a test run removes what carries its prefix). */
const uniqueName = (prefix: string) =>
  `${process.env.TEST_DB_PREFIX ?? ''}${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * A new database on the MySQL/MariaDB server `serverUrl` names, with a binary collation (or, with
 * `serverDefaultCollation`, whatever the server's default is).
 */
export async function tempMysql(serverUrl: string, prefix: string, options: { serverDefaultCollation?: boolean } = {}): Promise<TempStore> {
  const name = uniqueName(prefix);
  const conn = await mysql.createConnection(serverUrl);
  try {
    await conn.query(`CREATE DATABASE \`${name}\`${options.serverDefaultCollation ? '' : ' CHARACTER SET utf8mb4 COLLATE utf8mb4_bin'}`);
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

/** A new database on the PostgreSQL server `serverUrl` names. */
export async function tempPostgres(serverUrl: string, prefix: string): Promise<TempStore> {
  const name = uniqueName(prefix);
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(serverUrl, name),
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A SQLite file `file` in a new temporary directory. */
export function tempSqlite(file: string, dirPrefix = 'isg-'): TempStore {
  const dir = mkdtempSync(join(tmpdir(), dirPrefix));
  return {
    url: `sqlite:${join(dir, file)}`,
    async drop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
