import { monitorEventLoopDelay } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECT_TIMEOUT_MS } from '../src/remote/sources/sql-source.js';
import { until } from './support/poll.js';
import { startTestServer, type TestServer } from './support/server.js';

/**
 * A SQLite client store locked by another process's exclusive transaction. better-sqlite3 waits
 * for a lock synchronously (its busy timeout, here CONNECT_TIMEOUT_MS); the subgraph reads the
 * client store on a worker thread, so that wait is the read's alone and the process keeps serving.
 */
describe('a locked SQLite client store does not freeze the process', () => {
  let s: TestServer;
  let path: string;
  beforeAll(async () => {
    s = await startTestServer('sqlite', { client: 'sqlite', env: { REMOTE_TIMEOUT_MS: '30000' } });
    path = s.clientUrl.slice('sqlite:'.length);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('answers other requests while a client read waits for the lock, then serves that read once the lock goes', async () => {
    const locker = new Database(path);
    // Rollback-journal mode: an exclusive transaction keeps readers out (WAL would let them in).
    locker.pragma('journal_mode = DELETE');
    const sent: string[] = [];
    const stopListening = s.app.engine.remote.sources.get('client')!.onQuery((q) => sent.push(q));
    const loop = monitorEventLoopDelay({ resolution: 10 });
    let slowDone = false;
    try {
      locker.exec('BEGIN EXCLUSIVE');
      loop.enable();
      const slow = s.gql(`{ employees(first: 3) { employeeId } }`).finally(() => (slowDone = true));
      await until('the client read to be sent', async () => sent.length > 0, 10_000, 5);

      // Probes while the read waits on the lock: they complete, the read is still waiting.
      for (let i = 0; i < 5; i++) {
        expect(await s.ok(`{ __typename }`)).toEqual({ __typename: 'Query' });
        expect((await fetch(new URL('/health/live', s.url))).status).toBe(200);
      }
      expect(slowDone).toBe(false);
      loop.disable();
      // The event loop never stalled for a busy wait: its longest delay stays below the busy timeout.
      expect(loop.max / 1e6).toBeLessThan(CONNECT_TIMEOUT_MS);

      locker.exec('COMMIT');
      const res = await slow;
      expect(res.errors).toBeUndefined();
      expect(res.data).toEqual({ employees: [{ employeeId: 'e-1' }, { employeeId: 'e-10' }, { employeeId: 'e-11' }] });
    } finally {
      stopListening();
      loop.disable();
      if (locker.inTransaction) locker.exec('ROLLBACK');
      locker.close();
    }
  });

  it('a read that outlasts the busy timeout fails alone, in words, as REMOTE_SOURCE_UNAVAILABLE', async () => {
    const locker = new Database(path);
    locker.pragma('journal_mode = DELETE');
    try {
      locker.exec('BEGIN EXCLUSIVE');
      const res = await s.gql(`{ employees(first: 3) { employeeId } }`);
      expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['REMOTE_SOURCE_UNAVAILABLE']);
      expect(res.errors![0].message).toBe(
        'The store holding Employee (client) is unavailable: client store unavailable: is locked by another connection',
      );
    } finally {
      if (locker.inTransaction) locker.exec('ROLLBACK');
      locker.close();
    }
    expect(await s.ok(`{ employees(first: 1) { employeeId } }`)).toEqual({ employees: [{ employeeId: 'e-1' }] });
  });
});
