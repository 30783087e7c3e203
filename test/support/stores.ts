import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';

/**
 * Real stores for tests. MariaDB and PostgreSQL must be up: a missing service fails the suite,
 * it never skips it. Each call makes a database of its own, so test files can run side by side.
 */
export const MYSQL_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
export const PG_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export type OperationalKind = 'sqlite' | 'mariadb';
export type ClientKind = 'sqlite' | 'mariadb' | 'postgres';
export const OPERATIONAL_KINDS: OperationalKind[] = ['sqlite', 'mariadb'];
export const CLIENT_KINDS: ClientKind[] = ['sqlite', 'postgres', 'mariadb'];

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

export async function tempMysql(prefix = 'it'): Promise<TempStore> {
  const name = uniqueName(prefix);
  const conn = await mysql.createConnection(MYSQL_URL);
  try {
    await conn.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await conn.end();
  }
  return {
    url: withDatabase(MYSQL_URL, name),
    async drop() {
      const c = await mysql.createConnection(MYSQL_URL);
      try {
        await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await c.end();
      }
    },
  };
}

export async function tempPostgres(prefix = 'it'): Promise<TempStore> {
  const name = uniqueName(prefix);
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(PG_URL, name),
    async drop() {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export function tempSqlite(file = 'store.sqlite'): TempStore {
  const dir = mkdtempSync(join(tmpdir(), 'isg-'));
  return {
    url: `sqlite:${join(dir, file)}`,
    async drop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function tempOperationalStore(kind: OperationalKind): Promise<TempStore> {
  return kind === 'sqlite' ? Promise.resolve(tempSqlite('operational.sqlite')) : tempMysql('op');
}

export function tempClientStore(kind: ClientKind): Promise<TempStore> {
  if (kind === 'sqlite') return Promise.resolve(tempSqlite('client.sqlite'));
  return kind === 'postgres' ? tempPostgres('client') : tempMysql('client');
}
