import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { migrations } from '../src/data/migrations/index.js';
import { spawnSubgraph, type SubgraphProcess } from './fixtures/subgraph-process.js';
import { OPERATIONAL_KINDS, tempMysql, type OperationalKind, type TempStore } from './support/stores.js';

/**
 * Migrations as their own step: `npm run migrate` applies what is pending and exits; MIGRATIONS
 * at start-up runs them (default), checks that none is pending (refusing to start, naming them),
 * or skips them. Replicas starting together on a fresh database migrate once.
 */
const NAMES = migrations.map((m) => m.name);
const READY = /Integrity subgraph ready/;

const dirs: string[] = [];
const dbs: TempStore[] = [];
const procs: SubgraphProcess[] = [];
afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill()));
  await Promise.all(dbs.map((d) => d.drop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh operational store of `kind` and a data directory for the client store. */
async function freshStore(kind: OperationalKind): Promise<Record<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  dirs.push(dir);
  if (kind === 'sqlite') return { DATA_DIR: dir, DATABASE_URL: `sqlite:${join(dir, 'operational.sqlite')}` };
  const db = await tempMysql('mig');
  dbs.push(db);
  return { DATA_DIR: dir, DATABASE_URL: db.url };
}

function start(env: Record<string, string>, launcher: 'node' | 'migrate' = 'node'): SubgraphProcess {
  const p = spawnSubgraph({ PORT: '0', GC_INTERVAL_SECONDS: '0', REVALIDATE_INTERVAL_SECONDS: '0', ...env }, launcher);
  procs.push(p);
  return p;
}

async function stop(p: SubgraphProcess): Promise<void> {
  p.child.kill('SIGTERM');
  const exit = await p.waitForExit(20_000);
  expect(exit, `${p.stdout().slice(-3000)}\n${p.stderr().slice(-3000)}`).toEqual({ code: 0, signal: null });
}

describe.each(OPERATIONAL_KINDS)('migrations as their own step on %s', (kind) => {
  it('npm run migrate applies every pending migration, names them, exits 0; a second run has nothing to do; MIGRATIONS=check then starts', async () => {
    const env = await freshStore(kind);
    const first = start(env, 'migrate');
    expect(await first.waitForExit(30_000)).toEqual({ code: 0, signal: null });
    expect(first.stdout()).toContain(`Applied ${NAMES.length} migrations`);
    for (const name of NAMES) expect(first.stdout()).toContain(name);

    const second = start(env, 'migrate');
    expect(await second.waitForExit(30_000)).toEqual({ code: 0, signal: null });
    expect(second.stdout()).toMatch(/No pending migrations/);

    const server = start({ ...env, MIGRATIONS: 'check' });
    await server.waitForStdout(READY);
    await stop(server);
  });

  it('MIGRATIONS=check on a store that lacks migrations refuses to start, naming each one and how to apply them', async () => {
    const env = await freshStore(kind);
    const server = start({ ...env, MIGRATIONS: 'check' });
    expect((await server.waitForExit(30_000)).code).toBe(1);
    const said = server.stderr();
    expect(said).toMatch(/Cannot start: MIGRATIONS=check/);
    for (const name of NAMES) expect(said).toContain(name);
    expect(said).toContain('npm run migrate');
    expect(server.stdout()).not.toMatch(READY);
  });

  it('MIGRATIONS=skip starts without touching the schema of a migrated store', async () => {
    const env = await freshStore(kind);
    expect(await start(env, 'migrate').waitForExit(30_000)).toEqual({ code: 0, signal: null });
    const server = start({ ...env, MIGRATIONS: 'skip' });
    await server.waitForStdout(READY);
    await stop(server);
  });
});

describe('migration settings and failures', () => {
  it('an unknown MIGRATIONS value refuses to start, naming the setting and its values', async () => {
    const env = await freshStore('sqlite');
    const server = start({ ...env, MIGRATIONS: 'later' });
    expect((await server.waitForExit(30_000)).code).toBe(1);
    expect(server.stderr()).toContain('Cannot start: MIGRATIONS must be run, check or skip (got "later")');
  });

  it('npm run migrate on an unreachable store says so in one line and exits non-zero', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
    dirs.push(dir);
    const p = start({ DATA_DIR: dir, DATABASE_URL: 'mysql://root@127.0.0.1:1/nothing' }, 'migrate');
    expect((await p.waitForExit(30_000)).code).toBe(1);
    expect(p.stderr().trim()).toMatch(/^Cannot migrate: The operational store is unavailable: .*DATABASE_URL/);
    expect(p.stderr().trim().split('\n')).toHaveLength(1);
  });

  it('two replicas starting together on one fresh MariaDB database both come up; each migration is applied once', async () => {
    const env = await freshStore('mariadb');
    const a = start(env);
    const b = start(env);
    await Promise.all([a.waitForStdout(READY), b.waitForStdout(READY)]);
    const conn = await mysql.createConnection(env.DATABASE_URL!);
    try {
      const [rows] = await conn.query('SELECT name, COUNT(*) AS n FROM typeorm_migrations GROUP BY name ORDER BY name');
      expect((rows as Array<{ name: string; n: number }>).map((r) => [r.name, Number(r.n)])).toEqual([...NAMES].sort().map((n) => [n, 1]));
    } finally {
      await conn.end();
    }
    await Promise.all([stop(a), stop(b)]);
  });
});
