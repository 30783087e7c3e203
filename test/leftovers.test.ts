import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './fixtures/subgraph-process.js';

/**
 * A test run removes what its suites leave behind, also when they fail: the temporary folders
 * (the run's own TMPDIR) and the databases carrying the run's prefix, those created by child
 * processes included (test/support/global-setup.ts).
 */
const MYSQL_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const PG_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const outer = mkdtempSync(join(tmpdir(), 'leftovers-'));
afterAll(() => rmSync(outer, { recursive: true, force: true }));

async function databasesLike(prefix: string): Promise<string[]> {
  const conn = await mysql.createConnection(MYSQL_URL);
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const [rows] = await conn.query('SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ?', [`${prefix}%`]);
    const { rows: pgRows } = await client.query<{ name: string }>('SELECT datname AS name FROM pg_database WHERE datname LIKE $1', [
      `${prefix}%`,
    ]);
    return [...(rows as Array<{ name: string }>).map((r) => `mariadb:${r.name}`), ...pgRows.map((r) => `postgresql:${r.name}`)];
  } finally {
    await conn.end();
    await client.end();
  }
}

describe('a failing test run leaves nothing behind', () => {
  it("its folders in the temporary directory and its databases (a child process's too) are gone after the run", async () => {
    const given = `left${Date.now().toString(36)}_`;
    const run = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--config', 'test/fixtures/leftovers/leftovers.vitest.config.ts'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        env: {
          ...process.env,
          TMPDIR: outer,
          TEST_DB_PREFIX: given,
          TEST_MYSQL_URL: MYSQL_URL,
          TEST_PG_URL: PG_URL,
          TEST_SERVICES: '',
          NO_COLOR: '1',
        },
        timeout: 120_000,
      },
    );
    const said = `${run.stdout}${run.stderr}`;
    // The suite ran, made its leftovers and failed as it means to.
    expect(run.status, said).toBe(1);
    expect(said).toContain('failing on purpose');
    expect(said).not.toContain('expected 1 to be 0');
    expect(readdirSync(outer)).toEqual([]);
    expect(await databasesLike(given)).toEqual([]);
  }, 150_000);
});
