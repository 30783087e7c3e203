import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Db } from '../src/data/db.js';
import { StoreUnavailableError } from '../src/data/store-errors.js';
import { until } from './support/poll.js';
import { codes, postQuery, startTestServer, type TestServer } from './support/server.js';
import { OPERATIONAL_KINDS, tempMysql, type TempStore } from './support/stores.js';
import { proxied, type TcpProxy } from './support/tcp-proxy.js';

/**
 * A bounded maintenance transaction raises the statement limit to its own bound on the server
 * (MAINTENANCE_TX_TIMEOUT_SECONDS); the client must wait as long, not give up at the ordinary
 * statement limit, while ordinary statements keep theirs.
 */
describe('statement limits inside a bounded maintenance transaction (mariadb)', () => {
  let store: TempStore;
  let db: Db;
  beforeAll(async () => {
    store = await tempMysql('mtxbounds');
    // An ordinary statement may take 0.5 s here (the client gives up a second after that).
    db = await Db.open({ url: store.url, statementTimeoutMs: 500 });
    await db.migrate();
  });
  afterAll(async () => {
    await db?.close();
    await store?.drop();
  });

  it('lets a statement run up to the transaction bound, and still stops ordinary statements at their own limit', async () => {
    const inBounded = await db.transaction((tx) => tx.query<{ slept: number }>('SELECT SLEEP(2) AS slept'), { timeoutSeconds: 5 });
    expect(inBounded).toEqual([{ slept: 0 }]);
    await expect(db.query('SELECT SLEEP(2) AS slept')).rejects.toThrow(StoreUnavailableError);
    await expect(db.query('SELECT SLEEP(2) AS slept')).rejects.toThrow(/timed out/);
  });
});

/**
 * An operator's collectGarbage / pruneHistory behind a link that hangs or under a table lock: every
 * store wait of the run (taking the lease, the maintenance transaction's session setup, its
 * statements) ends by the request's deadline with STORE_UNAVAILABLE, even with statement limits
 * far longer (10 minutes here: only the deadline can end these waits). A timer's run ends within
 * its own bounds (the statement limit) and is counted as failed.
 */
const SAFETY_NET = 30_000; // only so a broken build fails instead of hanging; never the assertion

const post = (s: TestServer, query: string) => postQuery(s.url, query, SAFETY_NET);

const GC = `mutation { collectGarbage { deleted } }`;
const PRUNE = `mutation { pruneHistory(keepLast: 1) { versionsDeleted } }`;

describe('an operator maintenance run on MariaDB behind a link that hangs, or under a table lock', () => {
  let store: TempStore;
  let proxy: TcpProxy;
  let s: TestServer;
  beforeAll(async () => {
    store = await tempMysql('mbounds');
    let viaProxy: string;
    ({ proxy, url: viaProxy } = await proxied(store.url));
    s = await startTestServer('sqlite', {
      env: {
        DATABASE_URL: viaProxy,
        STORE_STATEMENT_TIMEOUT_MS: '600000',
        MAINTENANCE_TX_TIMEOUT_SECONDS: '600',
        REQUEST_TIMEOUT_MS: '2000',
        RETENTION_SECONDS: '0',
      },
    });
    const { createProject } = await s.ok<{ createProject: { id: string } }>(
      `mutation { createProject(input: { name: "kept", description: "v1" }) { id } }`,
    );
    await s.ok(`mutation($id: ID!) { updateProject(id: $id, input: { description: "v2" }) { id } }`, { id: createProject.id });
    // The lease rows exist and the pool holds connections: the next runs go straight to the lease's transaction.
    await s.ok(GC);
    await s.ok(PRUNE);
  });
  afterAll(async () => {
    proxy?.resume();
    try {
      await s?.close();
    } finally {
      await proxy?.cut();
      await store?.drop();
    }
  });

  it.each([
    ['collectGarbage', GC],
    ['pruneHistory', PRUNE],
  ])('%s answers STORE_UNAVAILABLE (503) while the link hangs, and runs again once it is back', async (_, mutation) => {
    proxy.stall();
    try {
      const hung = await post(s, mutation);
      expect(codes(hung.body)).toEqual(['STORE_UNAVAILABLE']);
      expect(hung.status).toBe(503);
      expect(hung.body.errors![0].message).toMatch(/^The operational store is unavailable: timed out/);
      expect(hung.body.data ?? null).toBeNull();
    } finally {
      proxy.resume();
    }
    // No lease was left held by the run that timed out: the next one runs.
    await until('the run to succeed again', async () => {
      const res = await post(s, mutation);
      return res.body.errors ? null : res;
    });
  });

  it('collectGarbage under a table lock answers STORE_UNAVAILABLE by the deadline; it frees its lease and collects once unlocked', async () => {
    const marked = await s.ok<{ createProject: { id: string } }>(`mutation { createProject(input: { name: "doomed" }) { id } }`);
    await s.ok(`mutation($id: ID!) { markForDeletion(id: $id) { marked { id } } }`, { id: marked.createProject.id });
    const locker = await mysql.createConnection(store.url);
    try {
      await locker.query('LOCK TABLES resource WRITE');
      const locked = await post(s, GC);
      expect(codes(locked.body)).toEqual(['STORE_UNAVAILABLE']);
      expect(locked.status).toBe(503);
    } finally {
      await locker.query('UNLOCK TABLES');
      await locker.end();
    }
    const report = await until('the collection to run once unlocked', async () => {
      const res = await post(s, GC);
      return res.body.errors ? null : (res.body.data as { collectGarbage: { deleted: string[] } }).collectGarbage;
    });
    expect(report.deleted).toEqual([marked.createProject.id]);
  });
});

describe('a periodic maintenance run on MariaDB behind a link that hangs', () => {
  let store: TempStore;
  let proxy: TcpProxy;
  let s: TestServer;
  beforeAll(async () => {
    store = await tempMysql('mperiodic');
    let viaProxy: string;
    ({ proxy, url: viaProxy } = await proxied(store.url));
    s = await startTestServer('sqlite', {
      env: { DATABASE_URL: viaProxy, STORE_STATEMENT_TIMEOUT_MS: '1000', MAINTENANCE_TX_TIMEOUT_SECONDS: '1', GC_INTERVAL_SECONDS: '1' },
    });
  });
  afterAll(async () => {
    proxy?.resume();
    try {
      await s?.close();
    } finally {
      await proxy?.cut();
      await store?.drop();
    }
  });

  const runs = async (outcome: string) => {
    const text = await (await fetch(s.app.metricsUrl, { signal: AbortSignal.timeout(SAFETY_NET) })).text();
    const line = text.split('\n').find((l) => l.startsWith(`integrity_maintenance_runs_total{job="periodic",outcome="${outcome}"}`));
    return line ? Number(line.split(' ').pop()) : 0;
  };

  it('ends within its own bounds as a failed run, and runs again once the link is back', async () => {
    await until('a periodic run', async () => (await runs('ok')) > 0);
    const failedBefore = await runs('failed');
    proxy.stall();
    try {
      // Without a bound the run would wait on the hung link for good and never be counted.
      await until('a periodic run to fail', async () => (await runs('failed')) > failedBefore, SAFETY_NET);
    } finally {
      proxy.resume();
    }
    const okAfter = await runs('ok');
    await until('a periodic run to succeed again', async () => (await runs('ok')) > okAfter, SAFETY_NET);
  });
});

/**
 * A run whose request runs out of time between two statements of a batch transaction (the process
 * was paused there, as a GC pause or a frozen VM would): the next statement is refused at once,
 * STORE_UNAVAILABLE, and the transaction is still rolled back and its connection put back in order
 * (session limits restored) although the deadline has passed, so the store and the next runs are
 * as if the batch never started.
 */
describe.each(OPERATIONAL_KINDS)('a maintenance run that runs out of time inside a batch transaction on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind, { env: { RETENTION_SECONDS: '0', REQUEST_TIMEOUT_MS: '1000', MAINTENANCE_TX_TIMEOUT_SECONDS: '30' } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('answers STORE_UNAVAILABLE, rolls the batch back, and the next run collects everything', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { createProject } = await s.ok<{ createProject: { id: string } }>(
        `mutation($n: String!) { createProject(input: { name: $n }) { id } }`,
        { n: `late-${i}` },
      );
      await s.ok(`mutation($id: ID!) { markForDeletion(id: $id) { marked { id } } }`, { id: createProject.id });
      ids.push(createProject.id);
    }
    let paused = false;
    const stop = s.app.db.statementLog.listen((sql) => {
      if (!paused && /^DELETE FROM resource WHERE id IN/.test(sql)) {
        paused = true;
        // The process stops here, inside the batch's transaction, for longer than the request's deadline.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500);
      }
    });
    let res: Awaited<ReturnType<typeof post>>;
    try {
      res = await post(s, GC);
    } finally {
      stop();
    }
    expect(paused).toBe(true);
    expect(codes(res.body)).toEqual(['STORE_UNAVAILABLE']);
    // Frozen past its deadline, the process wakes with the store's timer and the request's backstop both due: either words it.
    expect(res.body.errors![0].message).toMatch(/^The operational store is unavailable: timed out|^The request ran out of time/);
    // The batch was rolled back: every marked project is still there.
    for (const id of ids) expect((await s.ok(`query($id: ID!) { resource(id: $id) { id } }`, { id })).resource).toEqual({ id });
    // No connection was left inside that transaction or with its session limits: the next run takes them all.
    const next = await until('the next run', async () => {
      const r = await post(s, GC);
      return r.body.errors ? null : (r.body.data as { collectGarbage: { deleted: string[] } }).collectGarbage;
    });
    expect([...next.deleted].sort()).toEqual([...ids].sort());
    for (let i = 0; i < 5; i++) expect((await s.ok(`{ projects { name } }`)).projects).toEqual([]);
  });
});
