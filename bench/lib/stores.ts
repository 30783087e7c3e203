import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { createClientTables, DEMO_BANK_ACCOUNTS, DEMO_EMPLOYEES, insertDemoClientRows, type DemoEmployee } from '../../src/remote/client-demo.js';

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

/** A benchmark's stores: a fresh operational store and a SQLite client store holding `employees` employees. */
export async function benchStores(
  kind: StoreKind,
  options: { mysqlUrl?: string; employees: number },
): Promise<{ op: TempStore; client: TempStore; stops: (() => Promise<unknown>)[] }> {
  const op = await tempOperationalStore(kind, options.mysqlUrl);
  const client = tempSqlite('client.sqlite');
  const stops: (() => Promise<unknown>)[] = [() => client.drop(), () => op.drop()];
  await createClientTables(client.url);
  await insertDemoClientRows(client.url, { employees: benchEmployees(options.employees), bankAccounts: DEMO_BANK_ACCOUNTS });
  return { op, client, stops };
}

/** The demo employees plus generated ones, `total` in all. */
export function benchEmployees(total: number): DemoEmployee[] {
  const out: DemoEmployee[] = [...DEMO_EMPLOYEES];
  const departments = ['Engineering', 'Operations', 'Finance', 'Research', 'Security'];
  for (let i = out.length + 1; i <= total; i++) {
    out.push({ employeeId: `e-${i}`, name: `Bench Person ${i}`, email: `person${i}@example.com`, department: departments[i % departments.length] });
  }
  return out;
}
