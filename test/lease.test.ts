import type { ChildProcess } from 'node:child_process';
import { spawnWorker, type Worker } from './support/workers.js';
import { until } from './support/poll.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Db } from '../src/data/db.js';
import { LeaseLostError, LeaseManager } from '../src/maintenance/lease.js';
import { OPERATIONAL_KINDS, tempOperationalStore, type TempStore } from './support/stores.js';

async function leaseRow(db: Db, name = 'maintenance') {
  const [row] = await db.query<{ holder: string | null; token: number; expires_at: string | null }>(
    `SELECT holder, token, expires_at FROM lease WHERE name = ?`,
    [name],
  );
  return row ? { ...row, token: Number(row.token) } : undefined;
}

/** Waits on the database clock (the only clock leases use) until the lease has expired. */
function untilExpired(db: Db, name = 'maintenance') {
  return until(`lease ${name} to expire`, async () => {
    const row = await leaseRow(db, name);
    const now = await db.now();
    return row !== undefined && (row.expires_at === null || row.expires_at < now);
  });
}

const TEST_TABLES = [
  `CREATE TABLE lease_test_rows (batch INT NOT NULL, seq INT NOT NULL, holder VARCHAR(64) NOT NULL, token INT NOT NULL)`,
  `CREATE TABLE lease_test_log (holder VARCHAR(64) NOT NULL, event VARCHAR(32) NOT NULL, token INT NULL, detail VARCHAR(255) NULL)`,
  `CREATE TABLE lease_test_control (name VARCHAR(64) NOT NULL PRIMARY KEY)`,
];

async function openStore(kind: (typeof OPERATIONAL_KINDS)[number]): Promise<{ store: TempStore; db: Db }> {
  const store = await tempOperationalStore(kind);
  const db = await Db.open({ url: store.url });
  await db.migrate();
  for (const sql of TEST_TABLES) await db.execute(sql);
  return { store, db };
}

describe.each(OPERATIONAL_KINDS)('lease on %s', (kind) => {
  let store: TempStore;
  let db: Db;
  let other: Db; // a second replica: its own connection(s) to the same store
  const opened: Db[] = [];

  beforeAll(async () => {
    ({ store, db } = await openStore(kind));
    other = await Db.open({ url: store.url });
    opened.push(db, other);
  });

  afterAll(async () => {
    for (const d of opened) await d.close().catch(() => undefined);
    await store?.drop();
  });

  it('runs the job in one holder only; a second attempt during the job returns ran:false at once', async () => {
    const a = new LeaseManager(db, { holder: 'a', ttlSeconds: 30 });
    const b = new LeaseManager(other, { holder: 'b', ttlSeconds: 30 });
    let bJobRan = false;
    const outcome = await a.runExclusive('maintenance', async (run) => {
      expect(await leaseRow(db)).toMatchObject({ holder: 'a', token: run.token });
      const second = await b.runExclusive('maintenance', async () => {
        bJobRan = true;
      });
      const sameHolder = await new LeaseManager(other, { holder: 'a', ttlSeconds: 30 }).runExclusive('maintenance', async () => 1);
      return { second, sameHolder };
    });
    expect(outcome).toEqual({ ran: true, result: { second: { ran: false }, sameHolder: { ran: false } } });
    expect(bJobRan).toBe(false);
    // Released: free at once for the other replica.
    expect(await leaseRow(db)).toMatchObject({ holder: null, expires_at: null });
    expect(await b.runExclusive('maintenance', async () => 'b')).toEqual({ ran: true, result: 'b' });
  });

  // On SQLite one process's connections share a thread, so a blocked writer would stall the holder:
  // this case exists on MariaDB only. The holder waits for the answer inside its own transaction,
  // so an acquirer that waited for the row lock would never answer (the test would time out).
  if (kind === 'mariadb') {
    it('returns ran:false without waiting while the holder is inside a transaction', async () => {
      const a = new LeaseManager(db, { holder: 'a', ttlSeconds: 30 });
      const b = new LeaseManager(other, { holder: 'b', ttlSeconds: 30 });
      const outcome = await a.runExclusive('maintenance', (run) => run.transaction(() => b.runExclusive('maintenance', async () => 'b')));
      expect(outcome).toEqual({ ran: true, result: { ran: false } });
    });
  }

  it('increases the token by exactly 1 per acquisition and creates other lease rows on first use', async () => {
    const a = new LeaseManager(db, { holder: 'a', ttlSeconds: 30 });
    const b = new LeaseManager(other, { holder: 'b', ttlSeconds: 30 });
    const start = (await leaseRow(db))!.token;
    const tokens: number[] = [];
    for (const m of [a, b, a, b]) {
      const r = await m.runExclusive('maintenance', async (run) => run.token);
      if (r.ran) tokens.push(r.result);
    }
    expect(tokens).toEqual([start + 1, start + 2, start + 3, start + 4]);
    expect((await leaseRow(db))!.token).toBe(start + 4);

    expect(await leaseRow(db, 'history-pruning')).toBeUndefined();
    const first = await a.runExclusive('history-pruning', async (run) => run.token);
    const second = await b.runExclusive('history-pruning', async (run) => run.token);
    expect([first, second]).toEqual([
      { ran: true, result: 1 },
      { ran: true, result: 2 },
    ]);
  });

  it('releases the lease when the job throws, and rethrows', async () => {
    const a = new LeaseManager(db, { holder: 'a', ttlSeconds: 30 });
    await expect(a.runExclusive('maintenance', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await leaseRow(db)).toMatchObject({ holder: null, expires_at: null });
  });

  it('lets another holder take an expired lease; the first holder can then write nothing', async () => {
    const a = new LeaseManager(db, { holder: 'a', ttlSeconds: 0.5 });
    const b = new LeaseManager(other, { holder: 'b', ttlSeconds: 30 });
    const outcome = await a.runExclusive('maintenance', async (runA) => {
      // While held, a's transactions pass and extend the lease.
      await runA.transaction((tx) =>
        tx.execute(`INSERT INTO lease_test_rows (batch, seq, holder, token) VALUES (100, 0, 'a', ?)`, [runA.token]),
      );
      await untilExpired(db);

      const taken = await b.runExclusive('maintenance', async (runB) => {
        expect(runB.token).toBe(runA.token + 1);
        const lost = await runA
          .transaction((tx) => tx.execute(`INSERT INTO lease_test_rows (batch, seq, holder, token) VALUES (101, 0, 'a', ?)`, [runA.token]))
          .catch((e: unknown) => e);
        expect(lost).toBeInstanceOf(LeaseLostError);
        await runB.transaction((tx) =>
          tx.execute(`INSERT INTO lease_test_rows (batch, seq, holder, token) VALUES (102, 0, 'b', ?)`, [runB.token]),
        );
        return runB.token;
      });
      expect(taken).toEqual({ ran: true, result: runA.token + 1 });
      // Still refused after b released: the token is b's now.
      await expect(runA.transaction(async () => 'never')).rejects.toBeInstanceOf(LeaseLostError);
      return runA.token;
    });
    expect(outcome.ran).toBe(true);
    const rows = await db.query<{ batch: number; holder: string }>(
      `SELECT batch, holder FROM lease_test_rows WHERE batch >= 100 ORDER BY batch`,
    );
    expect(rows.map((r) => [Number(r.batch), r.holder])).toEqual([
      [100, 'a'],
      [102, 'b'],
    ]);
  });

  it('does not release a lease someone else holds now', async () => {
    const a = new LeaseManager(db, { holder: 'a', ttlSeconds: 0.5 });
    const b = new LeaseManager(other, { holder: 'b', ttlSeconds: 30 });
    let bToken = 0;
    let releaseB!: () => void;
    const bHolds = new Promise<void>((resolve) => (releaseB = resolve));
    let bRunning: Promise<unknown> | undefined;
    await a.runExclusive('maintenance', async () => {
      await untilExpired(db);
      bRunning = b.runExclusive('maintenance', async (run) => {
        bToken = run.token;
        await bHolds;
      });
      await until('b to hold the lease', async () => bToken > 0);
    });
    // a's release ran after b took over: b's lease is untouched.
    expect(await leaseRow(db)).toMatchObject({ holder: 'b', token: bToken });
    expect((await leaseRow(db))!.expires_at).not.toBeNull();
    releaseB();
    await bRunning;
    expect(await leaseRow(db)).toMatchObject({ holder: null, expires_at: null, token: bToken });
  });
});

describe('lease across processes on mariadb', () => {
  const TTL = 2;
  let store: TempStore;
  let db: Db;
  const children = new Set<ChildProcess>();

  beforeAll(async () => {
    ({ store, db } = await openStore('mariadb'));
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await db?.close();
    await store?.drop();
  });

  function worker(...args: (string | number)[]): Worker {
    return spawnWorker('test/support/lease-worker.ts', [store.url, ...args], children);
  }

  async function succeeded(w: Worker): Promise<void> {
    const { code, stderr } = await w.exited;
    expect(code, stderr).toBe(0);
  }

  const logOf = (holder: string) =>
    db.query<{ event: string; token: number | null; detail: string | null }>(
      `SELECT event, token, detail FROM lease_test_log WHERE holder = ?`,
      [holder],
    );

  const eventToken = async (holder: string, event: string) => {
    const row = (await logOf(holder)).find((r) => r.event === event);
    return row ? Number(row.token) : undefined;
  };

  async function reset(): Promise<void> {
    for (const t of ['lease_test_rows', 'lease_test_log', 'lease_test_control']) await db.execute(`DELETE FROM ${t}`);
  }

  /** Rows per (batch, token): every batch must be written whole by exactly one run, or not at all. */
  async function batchShape() {
    const rows = await db.query<{ batch: number; token: number; n: number }>(
      `SELECT batch, token, COUNT(*) AS n FROM lease_test_rows GROUP BY batch, token ORDER BY batch, token`,
    );
    return rows.map((r) => ({ batch: Number(r.batch), token: Number(r.token), n: Number(r.n) }));
  }

  it('two workers started at once: exactly one runs its job', async () => {
    await reset();
    const workers = [worker('race', 'w1', TTL), worker('race', 'w2', TTL)];
    await until('both workers ready', async () => (await db.query(`SELECT * FROM lease_test_log WHERE event = 'ready'`)).length === 2);
    await db.execute(`INSERT INTO lease_test_control (name) VALUES ('start')`);
    const outcomes = await until('both outcomes', async () => {
      const rows = await db.query<{ holder: string; event: string }>(
        `SELECT holder, event FROM lease_test_log WHERE event IN ('ran', 'skipped')`,
      );
      return rows.length === 2 ? rows : null;
    });
    expect(outcomes.map((r) => r.event).sort()).toEqual(['ran', 'skipped']);
    await db.execute(`INSERT INTO lease_test_control (name) VALUES ('go')`);
    for (const w of workers) await succeeded(w);
    expect(await leaseRow(db)).toMatchObject({ holder: null, expires_at: null });
  });

  it('a worker killed mid-job frees the lease at expiry; another finishes and no batch is half-written', async () => {
    await reset();
    const BATCHES = 40;
    const PER_BATCH = 5;
    const first = worker('batches', 'killed', TTL, BATCHES, PER_BATCH);
    await until('some batches written', async () => {
      const [r] = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM lease_test_rows`);
      // Not a multiple of the batch size: were batches not atomic, the kill would land mid-batch.
      return Number(r.n) >= 2 * PER_BATCH + 2;
    });
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const killedToken = (await eventToken('killed', 'ran'))!;

    const afterKill = await batchShape();
    expect(afterKill.length).toBeGreaterThan(0);
    expect(afterKill.length).toBeLessThan(BATCHES); // killed mid-job
    for (const b of afterKill) expect(b).toEqual({ batch: b.batch, token: killedToken, n: PER_BATCH });

    // Until the ttl runs out the dead worker still holds the lease.
    const early = await new LeaseManager(db, { holder: 'test', ttlSeconds: TTL }).runExclusive('maintenance', async () => 'stolen');
    expect(early).toEqual({ ran: false });

    await untilExpired(db);
    const second = worker('batches', 'successor', TTL, BATCHES, PER_BATCH);
    await succeeded(second);
    expect(await eventToken('successor', 'ran')).toBe(killedToken + 1);

    const shape = await batchShape();
    expect(shape.map((b) => b.batch)).toEqual(Array.from({ length: BATCHES }, (_, i) => i));
    for (const b of shape) {
      expect(b.n).toBe(PER_BATCH);
      expect(b.token).toBe(afterKill.some((k) => k.batch === b.batch) ? killedToken : killedToken + 1);
    }
    expect(await leaseRow(db)).toMatchObject({ token: killedToken + 1, expires_at: null });
  });

  it('a holder frozen inside a fenced transaction loses its lock within the bound; the lease is taken over; it writes nothing', async () => {
    await reset();
    const TX_TIMEOUT = 1; // the frozen holder's locks go within 2 × this after its last statement
    const frozen = worker('freeze', 'frozen', TTL, TX_TIMEOUT);
    try {
      await until('the frozen point', async () => (await logOf('frozen')).some((r) => r.event === 'frozen-point'));
      frozen.child.kill('SIGSTOP');
      const frozenToken = (await eventToken('frozen', 'ran'))!;
      // While it is frozen a second replica is told "held" without waiting, and who holds it.
      const b = new LeaseManager(db, { holder: 'b', ttlSeconds: 30 });
      expect(await b.runExclusive('maintenance', async () => 'b')).toEqual({ ran: false });
      expect(await b.holderOf('maintenance')).toMatchObject({ holder: 'frozen' });
      await untilExpired(db);
      // After expiry plus the bound, the server has ended the frozen transaction: b takes over.
      const taken = await until('b to take the lease over', async () => {
        const r = await b.runExclusive('maintenance', async (run) => {
          await run.transaction((tx) =>
            tx.execute(`INSERT INTO lease_test_rows (batch, seq, holder, token) VALUES (2, 0, 'b', ?)`, [run.token]),
          );
          return run.token;
        });
        return r.ran ? r : null;
      });
      expect(taken).toEqual({ ran: true, result: frozenToken + 1 });

      await db.execute(`INSERT INTO lease_test_control (name) VALUES ('thaw')`);
      frozen.child.kill('SIGCONT');
      await succeeded(frozen);
      const log = await logOf('frozen');
      // The frozen transaction was ended by the server (not committed), and its next write is fenced off.
      expect(log.find((r) => r.event === 'frozen-tx')?.detail).toBe('failed');
      expect(log.find((r) => r.event === 'after-thaw')?.detail).toBe('lost');
      expect(await batchShape()).toEqual([{ batch: 2, token: frozenToken + 1, n: 1 }]);
      expect(await leaseRow(db)).toMatchObject({ holder: null, token: frozenToken + 1, expires_at: null });
    } finally {
      if (frozen.child.exitCode === null) frozen.child.kill('SIGCONT');
    }
  });

  it('a worker paused past its ttl cannot write after it resumes', async () => {
    await reset();
    const BATCHES = 6;
    const PER_BATCH = 5;
    const PAUSE_BEFORE = 2;
    const paused = worker('batches', 'paused', TTL, BATCHES, PER_BATCH, PAUSE_BEFORE);
    // The worker parks between transactions, so the stop holds no row lock.
    await until('the pause point', async () => (await logOf('paused')).some((r) => r.event === 'paused-point'));
    paused.child.kill('SIGSTOP');
    try {
      const pausedToken = (await eventToken('paused', 'ran'))!;
      await db.execute(`INSERT INTO lease_test_control (name) VALUES ('continue')`);
      await untilExpired(db);

      const successor = worker('batches', 'successor', TTL, BATCHES, PER_BATCH);
      await succeeded(successor);
      expect(await eventToken('successor', 'ran')).toBe(pausedToken + 1);
      const beforeResume = await batchShape();

      paused.child.kill('SIGCONT');
      await succeeded(paused);
      const log = await logOf('paused');
      // Every batch it tried after resuming was refused…
      expect(log.filter((r) => r.event === 'lost').map((r) => Number(r.detail))).toEqual([2, 3, 4, 5]);
      expect(log.find((r) => r.event === 'done')?.detail).toBe('refused=4');
      // …and nothing it tried is stored.
      expect(await batchShape()).toEqual(beforeResume);
      expect(beforeResume).toEqual(
        Array.from({ length: BATCHES }, (_, batch) => ({
          batch,
          token: batch < PAUSE_BEFORE ? pausedToken : pausedToken + 1,
          n: PER_BATCH,
        })),
      );
      // Its release did not touch the lease the successor left.
      expect(await leaseRow(db)).toMatchObject({ holder: null, token: pausedToken + 1, expires_at: null });
    } finally {
      if (paused.child.exitCode === null) paused.child.kill('SIGCONT');
    }
  });
});
