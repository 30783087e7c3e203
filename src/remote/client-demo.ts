import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { CONNECT_TIMEOUT_MS, parseClientUrl, type SqlDialect } from './sources/sql-source.js';

/** The demo client store: the tables of the runtime contract and a few rows to refer to. */

export interface DemoEmployee {
  employeeId: string;
  name: string;
  email: string | null;
  department: string | null;
}

export interface DemoBankAccount {
  number: string;
  owner: string;
  bank: string | null;
  currency: string | null;
}

/** As written in the runtime contract; valid on SQLite, PostgreSQL and MySQL/MariaDB alike. */
export const CLIENT_TABLES_DDL: readonly string[] = [
  `CREATE TABLE employee (
  employee_id VARCHAR(64)  PRIMARY KEY,
  name        VARCHAR(200) NOT NULL,
  email       VARCHAR(200),
  department  VARCHAR(100)
)`,
  `CREATE TABLE bank_account (
  number   VARCHAR(64) NOT NULL,
  owner    VARCHAR(64) NOT NULL,
  bank     VARCHAR(100),
  currency VARCHAR(3),
  PRIMARY KEY (number, owner)
)`,
];

const PEOPLE: Array<[string, string | null]> = [
  ['Ada Lovelace', 'Engineering'],
  ['Alan Turing', 'Engineering'],
  ['Grace Hopper', 'Engineering'],
  ['Edsger Dijkstra', 'Engineering'],
  ['Barbara Liskov', 'Architecture'],
  ['Donald Knuth', 'Architecture'],
  ['Margaret Hamilton', 'Operations'],
  ['Ken Thompson', 'Operations'],
  ['Dennis Ritchie', 'Operations'],
  ['Radia Perlman', 'Networking'],
  ['Vint Cerf', 'Networking'],
  ['Bob Kahn', 'Networking'],
  ['Frances Allen', 'Finance'],
  ['John Backus', 'Finance'],
  ['Hedy Lamarr', 'Security'],
  ['Whitfield Diffie', 'Security'],
  ['Shafi Goldwasser', 'Security'],
  ['Leslie Lamport', 'Research'],
  ['Tim Berners-Lee', 'Research'],
  ['Katherine Johnson', null],
];

export const DEMO_EMPLOYEES: readonly DemoEmployee[] = PEOPLE.map(([name, department], i) => ({
  employeeId: `e-${i + 1}`,
  name,
  // The last one has neither email nor department: NULL columns are part of the demo.
  email: department === null ? null : `${name.toLowerCase().replace(/[^a-z]+/g, '.')}@example.com`,
  department,
}));

/** Account ACC-1001 has two owners: the composite key (number, owner) is what tells them apart. */
export const DEMO_BANK_ACCOUNTS: readonly DemoBankAccount[] = [
  { number: 'ACC-1001', owner: 'e-1', bank: 'First Analytical Bank', currency: 'EUR' },
  { number: 'ACC-1001', owner: 'e-2', bank: 'First Analytical Bank', currency: 'EUR' },
  { number: 'ACC-1002', owner: 'e-1', bank: 'Difference Engine Savings', currency: 'GBP' },
  { number: 'ACC-2001', owner: 'e-3', bank: 'Compiler Credit Union', currency: 'USD' },
  { number: 'ACC-2002', owner: 'e-5', bank: 'Compiler Credit Union', currency: 'USD' },
  { number: 'ACC-3001', owner: 'e-7', bank: 'Apollo Mutual', currency: 'USD' },
  { number: 'ACC-3002', owner: 'e-10', bank: 'Packet Switch Bank', currency: 'CHF' },
  { number: 'ACC-4001', owner: 'e-13', bank: null, currency: null },
];

type Row = Record<string, unknown>;
type Exec = (sql: string, params?: unknown[]) => Promise<Row[]>;

/** One short-lived connection for set-up work (the SqlSource itself never writes). */
async function withConnection<T>(url: string, fn: (exec: Exec, dialect: SqlDialect) => Promise<T>): Promise<T> {
  const target = parseClientUrl(url);
  switch (target.dialect) {
    case 'sqlite': {
      if (target.path !== ':memory:') mkdirSync(dirname(target.path), { recursive: true });
      const db = new Database(target.path, { timeout: 10_000 });
      try {
        return await fn(async (sql, params = []) => {
          const statement = db.prepare(sql);
          if (statement.reader) return statement.all(...params) as Row[];
          statement.run(...params);
          return [];
        }, 'sqlite');
      } finally {
        db.close();
      }
    }
    case 'mysql': {
      const conn = await mysql.createConnection({ uri: target.uri, connectTimeout: CONNECT_TIMEOUT_MS, charset: 'utf8mb4' });
      try {
        return await fn(async (sql, params = []) => {
          const [rows] = await conn.query(sql, params);
          return Array.isArray(rows) ? (rows as Row[]) : [];
        }, 'mysql');
      } finally {
        await conn.end();
      }
    }
    case 'postgres': {
      const client = new pg.Client({ connectionString: target.connectionString, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
      await client.connect();
      try {
        // Statements are written with `?`; PostgreSQL numbers its placeholders.
        return await fn(async (sql, params = []) => {
          let n = 0;
          const text = params.length ? sql.replace(/\?/g, () => `$${++n}`) : sql;
          return (await client.query(text, params)).rows as Row[];
        }, 'postgres');
      } finally {
        await client.end();
      }
    }
  }
}

/** Runs statements (`?` placeholders on every dialect) on one connection and returns each one's rows. */
export async function queryClientSql(url: string, statements: readonly { sql: string; params?: unknown[] }[]): Promise<Row[][]> {
  return withConnection(url, async (exec) => {
    const out: Row[][] = [];
    for (const s of statements) out.push(await exec(s.sql, s.params));
    return out;
  });
}

/** Runs statements one after the other on one connection (tests use it to change the store behind the subgraph's back). */
export async function execClientSql(url: string, statements: readonly string[]): Promise<void> {
  await withConnection(url, async (exec) => {
    for (const sql of statements) await exec(sql);
  });
}

/** Creates `employee` and `bank_account` exactly as the runtime contract writes them. */
export function createClientTables(url: string): Promise<void> {
  return execClientSql(url, CLIENT_TABLES_DDL);
}

const INSERT_BATCH = 200;

/** Inserts rows (the demo rows unless others are given) in multi-row statements. */
export async function insertDemoClientRows(
  url: string,
  rows: { employees?: readonly DemoEmployee[]; bankAccounts?: readonly DemoBankAccount[] } = {
    employees: DEMO_EMPLOYEES,
    bankAccounts: DEMO_BANK_ACCOUNTS,
  },
): Promise<void> {
  await withConnection(url, async (exec) => {
    const insert = async (table: string, columns: string[], values: unknown[][]) => {
      for (let i = 0; i < values.length; i += INSERT_BATCH) {
        const batch = values.slice(i, i + INSERT_BATCH);
        const tuples = batch.map((r) => `(${r.map(() => '?').join(', ')})`).join(', ');
        await exec(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples}`, batch.flat());
      }
    };
    await insert(
      'employee',
      ['employee_id', 'name', 'email', 'department'],
      (rows.employees ?? []).map((e) => [e.employeeId, e.name, e.email, e.department]),
    );
    await insert(
      'bank_account',
      ['number', 'owner', 'bank', 'currency'],
      (rows.bankAccounts ?? []).map((a) => [a.number, a.owner, a.bank, a.currency]),
    );
  });
}

/**
 * For the embedded default: when `url` is a `sqlite:` file that does not exist yet, creates it with
 * the contract's tables and the demo rows. Any other URL, or an existing file, is left alone (the
 * client owns its store). Returns whether it created the file.
 */
export async function ensureDemoClientStore(url: string): Promise<boolean> {
  const target = parseClientUrl(url);
  if (target.dialect !== 'sqlite' || target.path === ':memory:' || existsSync(target.path)) return false;
  // Built aside and renamed into place, so no reader ever sees a file without its tables.
  const building = `${target.path}.${process.pid}.building`;
  rmSync(building, { force: true });
  try {
    await createClientTables(`sqlite:${building}`);
    await insertDemoClientRows(`sqlite:${building}`);
    if (existsSync(target.path)) return false;
    renameSync(building, target.path);
    return true;
  } finally {
    rmSync(building, { force: true });
  }
}
