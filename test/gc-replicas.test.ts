import type { ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { spawnWorker, type Worker } from './support/workers.js';
import { until } from './support/poll.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Db } from '../src/data/db.js';
import { addSeconds } from '../src/data/time.js';
import { LeaseManager } from '../src/maintenance/lease.js';
import { MaintenanceBusyError } from '../src/maintenance/maintenance.js';
import { createClientTables, insertDemoClientRows } from '../src/remote/client-demo.js';
import { GC_TEST_TABLES, openGcEngine, type GcEngine } from './support/gc-engine.js';
import { buildEstate, cloneProject } from './support/gc-fixtures.js';
import type { RandomStats } from './support/gc-random.js';
import { tempMysql, tempSqlite, type TempStore } from './support/stores.js';

const TTL = 2;
const BATCH = 20;

const ids = async (db: Db, sql: string, params: unknown[] = []) => (await db.query<{ id: string }>(sql, params)).map((r) => r.id).sort();
const count = async (db: Db, sql: string, params: unknown[] = []) => Number((await db.query<{ n: number | string }>(sql, params))[0].n);

async function leaseRow(db: Db) {
  const [row] = await db.query<{ holder: string | null; token: number; expires_at: string | null }>(
    `SELECT holder, token, expires_at FROM lease WHERE name = 'maintenance'`,
  );
  return { ...row, token: Number(row.token) };
}

/** Waits on the database clock (the only clock leases use) until the lease has expired. */
function untilExpired(db: Db) {
  return until('the lease to expire', async () => {
    const row = await leaseRow(db);
    return row.expires_at === null || row.expires_at < (await db.now());
  });
}

/**
 * The integrity the design promises, as queries that list offenders (all must be empty):
 * nothing refers to a missing resource, nothing dangles off a missing resource, no reference was
 * made to a resource after its mark, and a marked resource's descendants are all marked.
 */
async function violations(db: Db) {
  const q = (sql: string) => ids(db, sql);
  return {
    refToMissing: await q(`SELECT r.from_id AS id FROM resource_ref r LEFT JOIN resource t ON t.id = r.to_id WHERE t.id IS NULL`),
    refFromMissing: await q(`SELECT r.to_id AS id FROM resource_ref r LEFT JOIN resource f ON f.id = r.from_id WHERE f.id IS NULL`),
    parentMissing: await q(
      `SELECT c.id FROM resource c LEFT JOIN resource p ON p.id = c.parent_id WHERE c.parent_id IS NOT NULL AND p.id IS NULL`,
    ),
    historyOfMissing: await q(
      `SELECT DISTINCT h.resource_id AS id FROM resource_history h LEFT JOIN resource r ON r.id = h.resource_id WHERE r.id IS NULL`,
    ),
    linkOfMissing: await q(
      `SELECT DISTINCT l.resource_id AS id FROM remote_link l LEFT JOIN resource r ON r.id = l.resource_id WHERE r.id IS NULL`,
    ),
    linkToMissingRemote: await q(
      `SELECT l.resource_id AS id FROM remote_link l LEFT JOIN remote_ref x ON x.id = l.remote_ref_id WHERE x.id IS NULL`,
    ),
    refAfterMark: await q(
      `SELECT CONCAT(r.from_id, ' -> ', r.to_id, ' at ', r.created_at, ' marked ', t.marked_at) AS id
       FROM resource_ref r JOIN resource t ON t.id = r.to_id WHERE t.marked_at IS NOT NULL AND r.created_at > t.marked_at`,
    ),
    unmarkedChildOfMarked: await q(
      `SELECT c.id FROM resource c JOIN resource p ON p.id = c.parent_id WHERE p.status = 'MARKED_FOR_DELETION' AND c.status <> 'MARKED_FOR_DELETION'`,
    ),
    archivedButPresent: await q(`SELECT a.resource_id AS id FROM archive a JOIN resource r ON r.id = a.resource_id`),
  };
}

const CLEAN = {
  refToMissing: [],
  refFromMissing: [],
  parentMissing: [],
  historyOfMissing: [],
  linkOfMissing: [],
  linkToMissingRemote: [],
  refAfterMark: [],
  unmarkedChildOfMarked: [],
  archivedButPresent: [],
};

/** Per resource: its history versions, the references it holds, its remote links. */
async function footprint(db: Db): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const rows = await db.query<{ id: string; h: number; r: number; l: number }>(
    `SELECT x.id,
       (SELECT COUNT(*) FROM resource_history h WHERE h.resource_id = x.id) AS h,
       (SELECT COUNT(*) FROM resource_ref f WHERE f.from_id = x.id) AS r,
       (SELECT COUNT(*) FROM remote_link l WHERE l.resource_id = x.id) AS l
     FROM resource x`,
  );
  for (const row of rows) out.set(row.id, `${row.h}/${row.r}/${row.l}`);
  return out;
}

interface LogRow {
  seq: number;
  worker: string;
  event: string;
  token: number | null;
  at: string | null;
  detail: string | null;
}

describe('garbage collection across processes on mariadb', () => {
  let client: TempStore;
  const stores: TempStore[] = [];
  const engines: GcEngine[] = [];
  const children = new Set<ChildProcess>();

  beforeAll(async () => {
    client = tempSqlite('client.sqlite');
    await createClientTables(client.url);
    await insertDemoClientRows(client.url);
  });

  afterAll(async () => {
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGCONT');
        c.kill('SIGKILL');
      }
    }
    for (const g of engines) await g.close().catch(() => undefined);
    for (const s of stores) await s.drop().catch(() => undefined);
    await client?.drop();
  });

  /** A migrated database of its own, with the report tables, and an Engine on it in this process. */
  async function freshDatabase(): Promise<{ url: string; g: GcEngine; db: Db }> {
    const store = await tempMysql('gc');
    stores.push(store);
    const setup = await Db.open({ url: store.url });
    try {
      await setup.migrate();
      for (const sql of GC_TEST_TABLES) await setup.execute(sql);
    } finally {
      await setup.close();
    }
    const g = await openGcEngine({ url: store.url, clientUrl: client.url, leaseTtlSeconds: TTL, gcBatchSize: BATCH, poolSize: 8 });
    engines.push(g);
    return { url: store.url, g, db: g.db };
  }

  function worker(...args: (string | number)[]): Worker {
    return workerWith({}, ...args);
  }

  function workerWith(env: Record<string, string>, ...args: (string | number)[]): Worker {
    return spawnWorker('test/support/gc-worker.ts', args, children, {
      GC_CLIENT_URL: client.url,
      GC_TTL: String(TTL),
      GC_BATCH: String(BATCH),
      ...env,
    });
  }

  /** Waits (bounded) for the worker to exit and checks its exit code, showing its stderr otherwise. */
  async function expectExit(w: Worker, code: number, timeoutMs = 30_000): Promise<void> {
    const outcome = await Promise.race([w.exited, delay(timeoutMs).then(() => null)]);
    if (!outcome) throw new Error('worker did not exit in time');
    expect(outcome.code, outcome.stderr).toBe(code);
  }

  const logs = async (db: Db, worker?: string) =>
    (
      await db.query<LogRow>(
        `SELECT seq, worker, event, token, at, detail FROM gc_test_log ${worker ? 'WHERE worker = ?' : ''} ORDER BY seq`,
        worker ? [worker] : [],
      )
    ).map((r) => ({ ...r, token: r.token === null ? null : Number(r.token) }));
  const event = async (db: Db, worker: string, name: string) => (await logs(db, worker)).find((r) => r.event === name);
  const deletedBy = async (db: Db, token: number) => ids(db, `SELECT resource_id AS id FROM gc_test_deleted WHERE token = ?`, [token]);

  /**
   * Clusters under providers, projects of apps, profiles and groups (with logical clusters, cluster
   * references and remote owners), a project that stays, then the projects and every provider
   * marked. `keep` references one cluster, so that cluster and its provider are blocked.
   */
  async function markedEstate(g: GcEngine, projects: number) {
    const { engine, db } = g;
    const spec = {
      prefix: 'e',
      providers: 3,
      clustersPerProvider: 4,
      projects: 1,
      logicalClustersPerProject: 2,
      appsPerProject: 4,
      profilesPerApp: 3,
      groupsPerProfile: 4,
      owners: true,
    };
    const estate = await buildEstate(engine, spec, 3);
    const clones = await cloneProject(
      db,
      estate.projects[0],
      Array.from({ length: projects - 1 }, (_, i) => `e-copy${i}`),
    );
    await engine.create('Project', { name: 'keep' });
    await engine.create('CompositeApp', { project: 'keep', name: 'app' });
    await engine.create('CompositeProfile', { project: 'keep', compositeApp: 'app', name: 'prof' });
    await engine.create('DeploymentIntentGroup', {
      project: 'keep',
      compositeApp: 'app',
      compositeProfile: 'prof',
      name: 'holder',
      clusters: [{ provider: 'e-prov0', name: 'c0' }],
    });
    for (const id of [...estate.projects, ...clones.values(), ...estate.providers]) await engine.markForDeletion(id);
    const blockedCluster = (await engine.findByIdentity('Cluster', { provider: 'e-prov0', name: 'c0' }))!.id;
    const blockedProvider = (await engine.findByIdentity('ClusterProvider', { name: 'e-prov0' }))!.id;
    const blocked = [blockedCluster, blockedProvider].sort();
    const marked = await ids(db, `SELECT id FROM resource WHERE status = 'MARKED_FOR_DELETION'`);
    const unmarked = await ids(db, `SELECT id FROM resource WHERE status = 'ACTIVE'`);
    const collectable = marked.filter((id) => !blocked.includes(id));
    const personal = new Set(await ids(db, `SELECT id FROM resource WHERE kind = 'DeploymentIntentGroup'`));
    expect(unmarked.length).toBe(4);
    expect(await count(db, `SELECT COUNT(*) AS n FROM remote_link`)).toBeGreaterThan(0);
    return { marked, unmarked, blocked, collectable, personal };
  }

  /** After collection: the collectable set is gone, the rest stays, archives match, nothing dangles. */
  async function expectCollected(db: Db, e: Awaited<ReturnType<typeof markedEstate>>) {
    expect(await ids(db, `SELECT id FROM resource`)).toEqual([...e.unmarked, ...e.blocked].sort());
    expect(await ids(db, `SELECT id FROM resource WHERE status = 'MARKED_FOR_DELETION'`)).toEqual(e.blocked);
    const archived = await ids(db, `SELECT resource_id AS id FROM archive`);
    expect(archived).toEqual(e.collectable.filter((id) => !e.personal.has(id)));
    expect(await violations(db)).toEqual(CLEAN);
    expect(await count(db, `SELECT COUNT(*) AS n FROM gc_candidate`)).toBe(0);
    // The collected groups' owners were the only links to their remote_ref rows: those went too.
    expect(await count(db, `SELECT COUNT(*) AS n FROM remote_link`)).toBe(0);
    expect(await count(db, `SELECT COUNT(*) AS n FROM remote_ref`)).toBe(0);
    // Marks with nothing left to collect are gone; the providers' marks keep what they hold.
    expect(
      await count(db, `SELECT COUNT(*) AS n FROM deletion_mark m WHERE NOT EXISTS (SELECT 1 FROM resource r WHERE r.mark_id = m.id)`),
    ).toBe(0);
  }

  it('two collectors at once: the runs never overlap and each resource is collected exactly once', async () => {
    const { url, g, db } = await freshDatabase();
    const e = await markedEstate(g, 5);
    expect(e.collectable.length).toBeGreaterThan(300);

    const workers = [worker('collect', url, 'w1', 'start'), worker('collect', url, 'w2', 'start')];
    await until('both workers ready', async () => (await logs(db)).filter((r) => r.event === 'ready').length === 2);
    await db.execute(`INSERT INTO gc_test_control (name) VALUES ('start')`);
    for (const w of workers) await expectExit(w, 0);

    const runs = await Promise.all(
      ['w1', 'w2'].map(async (name) => {
        const all = await logs(db, name);
        const start = all.find((r) => r.event === 'run-start')!;
        const end = all.find((r) => r.event === 'run-end')!;
        const done = JSON.parse(all.find((r) => r.event === 'done')!.detail!) as { deleted: string[]; blocked: string[] };
        return { name, call: all.find((r) => r.event === 'call')!.at!, token: start.token!, start: start.at!, end: end.at!, done };
      }),
    );
    runs.sort((a, b) => a.token - b.token);
    const [first, second] = runs;
    // One lease, two tokens; the second run started only after the first had ended…
    expect(second.token).toBe(first.token + 1);
    const timeline = JSON.stringify(runs.map(({ name, call, token, start, end }) => ({ name, call, token, start, end })));
    expect([first.start < first.end, first.end < second.start, second.start <= second.end], timeline).toEqual([true, true, true]);
    // …although it was asked for while the first was running (told MAINTENANCE_BUSY, it asked again).
    expect(second.call < first.end, timeline).toBe(true);
    for (const run of runs) {
      const batches = await db.query<{ at: string; n: number }>(
        `SELECT at, COUNT(*) AS n FROM gc_test_deleted WHERE token = ? GROUP BY batch, at`,
        [run.token],
      );
      for (const b of batches) {
        expect(b.at > run.start && b.at < run.end, `batch at ${b.at} outside ${timeline}`).toBe(true);
        expect(Number(b.n)).toBeLessThanOrEqual(BATCH);
      }
      // What the run reported is exactly what its committed batches deleted.
      expect([...run.done.deleted].sort()).toEqual(await deletedBy(db, run.token));
    }
    const [d1, d2] = [await deletedBy(db, first.token), await deletedBy(db, second.token)];
    expect(d1.filter((id) => d2.includes(id))).toEqual([]);
    expect([...d1, ...d2].sort()).toEqual(e.collectable);
    expect(d1.length).toBeGreaterThan(0);
    expect([...second.done.blocked].sort()).toEqual(e.blocked);
    await expectCollected(db, e);
    expect(await leaseRow(db)).toMatchObject({ token: second.token, holder: null, expires_at: null });
  });

  it('a collector killed mid-run: every batch committed whole, the lease expires, the next run finishes', async () => {
    const { url, g, db } = await freshDatabase();
    const e = await markedEstate(g, 30);
    expect(e.collectable.length).toBeGreaterThan(2000);
    const before = await footprint(db);

    const killed = worker('collect', url, 'killed');
    await until('some batches deleted', async () => (await count(db, `SELECT COUNT(*) AS n FROM gc_test_deleted`)) >= 3 * BATCH, 40_000);
    killed.child.kill('SIGKILL');
    expect((await killed.exited).signal).toBe('SIGKILL');

    const killedToken = (await event(db, 'killed', 'run-start'))!.token!;
    // The dead run never released its lease: it stays held until the ttl runs out.
    const held = await leaseRow(db);
    expect(held).toMatchObject({ token: killedToken });
    expect(held.holder).not.toBeNull();
    expect(held.expires_at).not.toBeNull();
    if (held.expires_at! > addSeconds(await db.now(), 0.5)) {
      const early = await new LeaseManager(db, { holder: 'test', ttlSeconds: TTL }).runExclusive('maintenance', async () => 'stolen');
      expect(early).toEqual({ ran: false });
    }
    expect(await event(db, 'killed', 'run-end')).toBeUndefined();

    const present = new Set(await ids(db, `SELECT id FROM resource`));
    const missing = [...before.keys()].filter((id) => !present.has(id)).sort();
    // Killed mid-run: some but not all deleted, and exactly what its committed batches logged.
    expect(missing.length).toBeGreaterThanOrEqual(3 * BATCH);
    expect(missing.length).toBeLessThan(e.collectable.length);
    expect(missing).toEqual(await deletedBy(db, killedToken));
    expect(missing.every((id) => e.collectable.includes(id))).toBe(true);
    // Nothing half-deleted: no row of a missing resource is left and every survivor is intact
    // (same history, references and remote links as before); archives exist exactly for the
    // missing non-personal ones.
    expect(await violations(db)).toEqual(CLEAN);
    const after = await footprint(db);
    for (const [id, shape] of after) expect([id, shape]).toEqual([id, before.get(id)]);
    expect(await ids(db, `SELECT resource_id AS id FROM archive`)).toEqual(missing.filter((id) => !e.personal.has(id)));

    await untilExpired(db);
    const successor = worker('collect', url, 'successor');
    await expectExit(successor, 0);
    const successorToken = (await event(db, 'successor', 'run-start'))!.token!;
    expect(successorToken).toBe(killedToken + 1);
    const second = await deletedBy(db, successorToken);
    expect(second.filter((id) => missing.includes(id))).toEqual([]);
    expect([...missing, ...second].sort()).toEqual(e.collectable);
    await expectCollected(db, e);
    expect(await leaseRow(db)).toMatchObject({ token: successorToken, holder: null, expires_at: null });
  });

  it('a collector paused past its lease cannot write after it resumes', async () => {
    const { url, g, db } = await freshDatabase();
    const e = await markedEstate(g, 6);
    const PAUSE_BEFORE = 3; // after three committed batches
    const paused = worker('collect', url, 'paused', '-', PAUSE_BEFORE);
    try {
      // It parks between transactions, so the stop holds no row lock.
      await until('the pause point', async () => event(db, 'paused', 'paused-point'));
      paused.child.kill('SIGSTOP');
      const pausedToken = (await event(db, 'paused', 'run-start'))!.token!;
      const byPaused = await deletedBy(db, pausedToken);
      expect(byPaused.length).toBe(3 * BATCH);

      await untilExpired(db);
      const successor = worker('collect', url, 'successor');
      await expectExit(successor, 0);
      const successorToken = (await event(db, 'successor', 'run-start'))!.token!;
      expect(successorToken).toBe(pausedToken + 1);
      expect([...byPaused, ...(await deletedBy(db, successorToken))].sort()).toEqual(e.collectable);
      await expectCollected(db, e);

      // New work appears before the paused replica wakes up: a project marked and due at once.
      await g.engine.create('Project', { name: 'late' });
      const lateApp = await g.engine.create('CompositeApp', { project: 'late', name: 'app' });
      const late = (await g.engine.markForDeletion((await g.engine.findByIdentity('Project', { name: 'late' }))!.id)).marked
        .map((r) => r.id)
        .sort();
      expect(late).toContain(lateApp.id);
      const present = await ids(db, `SELECT id FROM resource`);
      const lease = await leaseRow(db);

      await db.execute(`INSERT INTO gc_test_control (name) VALUES ('continue-paused')`);
      paused.child.kill('SIGCONT');
      // Its next fenced write is refused by the token.
      await expectExit(paused, 3);
      expect(await event(db, 'paused', 'resumed')).toBeDefined();
      expect(await event(db, 'paused', 'lease-lost')).toMatchObject({ token: pausedToken });
      expect(await event(db, 'paused', 'run-end')).toBeUndefined();
      // It deleted nothing more and did not touch the lease.
      expect(await deletedBy(db, pausedToken)).toEqual(byPaused);
      expect(await ids(db, `SELECT id FROM resource`)).toEqual(present);
      expect(await leaseRow(db)).toEqual(lease);
      expect(lease).toMatchObject({ token: successorToken, holder: null, expires_at: null });
      expect(await violations(db)).toEqual(CLEAN);

      // The late project was collectable all along: the next run takes it.
      const report = await g.engine.collectGarbage(false);
      expect([...report.deleted].sort()).toEqual(late);
    } finally {
      if (paused.child.exitCode === null && paused.child.signalCode === null) paused.child.kill('SIGCONT');
    }
  });

  it('a collector paused before its first statement does not disturb the run that took over its lease', async () => {
    const { url, g, db } = await freshDatabase();
    const e = await markedEstate(g, 4);
    const early = worker('collect', url, 'early', '-', 'start');
    let successor: Worker | undefined;
    try {
      await until('the early run to park', async () => event(db, 'early', 'paused-point'));
      early.child.kill('SIGSTOP');
      const earlyToken = (await event(db, 'early', 'run-start'))!.token!;
      await untilExpired(db);
      // The successor parks after its first batch, in the middle of its run.
      successor = worker('collect', url, 'successor', '-', 1);
      await until('the successor to park', async () => event(db, 'successor', 'paused-point'));
      const successorToken = (await event(db, 'successor', 'run-start'))!.token!;
      expect(successorToken).toBe(earlyToken + 1);
      const candidates = await count(db, `SELECT COUNT(*) AS n FROM gc_candidate WHERE run_token = ?`, [successorToken]);
      expect(candidates).toBe(e.collectable.length - BATCH);

      // The stale run wakes up, does what it can without a fenced write, and is refused at the first.
      await db.execute(`INSERT INTO gc_test_control (name) VALUES ('continue-early')`);
      early.child.kill('SIGCONT');
      await expectExit(early, 3);
      expect(await event(db, 'early', 'lease-lost')).toMatchObject({ token: earlyToken });
      expect(await deletedBy(db, earlyToken)).toEqual([]);
      // The successor's working set is untouched…
      expect(await count(db, `SELECT COUNT(*) AS n FROM gc_candidate WHERE run_token = ?`, [successorToken])).toBe(candidates);

      // …so when it resumes it finishes the whole collection.
      await db.execute(`INSERT INTO gc_test_control (name) VALUES ('continue-successor')`);
      await expectExit(successor, 0);
      expect(await deletedBy(db, successorToken)).toEqual(e.collectable);
      await expectCollected(db, e);
    } finally {
      for (const w of [early, successor]) if (w && w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGCONT');
    }
  });

  it('a collector frozen inside a batch transaction: operators are told MAINTENANCE_BUSY, the server frees its locks, another replica collects', async () => {
    const { url, g, db } = await freshDatabase();
    const e = await markedEstate(g, 3);
    // Parks inside its second batch transaction (lease row and batch rows locked): a 5 s lease, a 1 s server-side bound.
    const frozen = workerWith({ GC_TX_TIMEOUT: '1', GC_TTL: '5' }, 'collect', url, 'frozen', '-', 'inside:1');
    try {
      await until('the frozen point', async () => event(db, 'frozen', 'paused-point'));
      frozen.child.kill('SIGSTOP');
      const frozenToken = (await event(db, 'frozen', 'run-start'))!.token!;
      const busy = await g.engine.collectGarbage(false).catch((err: unknown) => err);
      expect(busy).toBeInstanceOf(MaintenanceBusyError);
      expect((busy as MaintenanceBusyError).details).toMatchObject({
        lease: 'maintenance',
        holder: expect.stringMatching(/^replica-/),
        since: expect.any(String),
      });

      // Past expiry plus the bound the server has ended the frozen transaction: this replica collects.
      const report = await until(
        'another replica to collect',
        () => g.engine.collectGarbage(false).catch((err: unknown) => (err instanceof MaintenanceBusyError ? null : Promise.reject(err))),
        40_000,
        100,
      );
      expect(report.deleted.length).toBeGreaterThan(0);
      const byFrozen = await deletedBy(db, frozenToken);
      expect(byFrozen.length).toBe(BATCH); // its first batch committed; the one it froze in did not
      expect([...byFrozen, ...report.deleted].sort()).toEqual(e.collectable);
      await expectCollected(db, e);

      await db.execute(`INSERT INTO gc_test_control (name) VALUES ('continue-frozen')`);
      frozen.child.kill('SIGCONT');
      await expectExit(frozen, 4);
      expect(await deletedBy(db, frozenToken)).toEqual(byFrozen);
      expect(await violations(db)).toEqual(CLEAN);
    } finally {
      if (frozen.child.exitCode === null && frozen.child.signalCode === null) frozen.child.kill('SIGCONT');
    }
  });

  it('many replicas creating references, marking, cancelling and collecting keep every reference honest', async () => {
    const { url, g, db } = await freshDatabase();
    const base = Number(process.env.GC_SEED ?? Math.floor(Math.random() * 1e9));
    const WORKERS = 4;
    const seeds = Array.from({ length: WORKERS }, (_, i) => base + i);
    console.log(`gc-replicas random run: GC_SEED=${base} (worker seeds ${seeds.join(', ')})`);
    // A longer lease than the other tests: this one is about references, not about lease expiry.
    const workers = seeds.map((seed, i) => workerWith({ GC_TTL: '5' }, 'random', url, `r${i}`, seed, 8_000, 2));
    await until('all workers ready', async () => (await logs(db)).filter((r) => r.event === 'ready').length === WORKERS);
    await db.execute(`INSERT INTO gc_test_control (name) VALUES ('start')`);
    const exits = await Promise.all(workers.map((w) => Promise.race([w.exited, delay(40_000).then(() => null)])));
    const unexpected = (await logs(db)).filter((r) => r.event === 'unexpected' || r.event === 'error');
    expect(
      unexpected.map((r) => `${r.worker}: ${r.detail}`),
      `GC_SEED=${base}`,
    ).toEqual([]);
    expect(
      exits.map((x) => x?.code),
      exits.map((x) => x?.stderr).join('\n'),
    ).toEqual(seeds.map(() => 0));

    const stats = new Map((await logs(db)).filter((r) => r.event === 'stats').map((r) => [r.worker, JSON.parse(r.detail!) as RandomStats]));
    console.log(`gc-replicas random run (GC_SEED=${base}):`, JSON.stringify(Object.fromEntries(stats)));
    expect(stats.size).toBe(WORKERS);

    // One last collection with nothing else running; after it nothing more is collectable.
    await g.engine.collectGarbage(false);
    expect((await g.engine.collectGarbage(true)).deleted).toEqual([]);

    expect(await violations(db), `GC_SEED=${base}`).toEqual(CLEAN);
    expect(await count(db, `SELECT COUNT(*) AS n FROM gc_candidate`)).toBe(0);
    // A collection leaves no remote_ref row that nothing links to.
    expect(
      await count(db, `SELECT COUNT(*) AS n FROM remote_ref r WHERE NOT EXISTS (SELECT 1 FROM remote_link l WHERE l.remote_ref_id = r.id)`),
    ).toBe(0);
    for (const s of stats.values()) {
      expect(s.ok.create ?? 0).toBeGreaterThan(0);
      expect(s.ok.mark ?? 0).toBeGreaterThan(0);
      expect(s.deadlocksLeaked).toBe(0);
    }
    const all = [...stats.values()];
    // Group updates reached existing groups: applied, or (a referrer of a marked resource is frozen) refused.
    expect(all.reduce((n, s) => n + (s.ok.updateGroup ?? 0) + (s.refused.updateGroup?.REFERENCES_MARKED_RESOURCE ?? 0), 0)).toBeGreaterThan(
      0,
    );
    expect(all.reduce((n, s) => n + (s.ok.cancel ?? 0), 0)).toBeGreaterThan(0);
    expect(all.reduce((n, s) => n + s.gcDeleted, 0)).toBeGreaterThan(0);
    expect(
      all.reduce(
        (n, s) => n + (s.refused.create?.REFERENCES_MARKED_RESOURCE ?? 0) + (s.refused.updateGroup?.REFERENCES_MARKED_RESOURCE ?? 0),
        0,
      ),
    ).toBeGreaterThan(0);
  });
});
