import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { StoreUnavailableError } from '../src/data/store-errors.js';
import { createLogger } from '../src/logger.js';
import { startApp } from '../src/server/app.js';
import { freePort } from './fixtures/subgraph-process.js';
import { until } from './support/poll.js';
import { codes, postQuery, startTestServer, type TestServer } from './support/server.js';
import { MYSQL_URL, tempMysql, tempSqlite, type TempStore } from './support/stores.js';
import { proxied, type TcpProxy } from './support/tcp-proxy.js';

/**
 * Bounded waits on the operational store (MariaDB): a statement may take STORE_STATEMENT_TIMEOUT_MS
 * (ended by the server), a hung link is given up a second later on the client, a request has
 * REQUEST_TIMEOUT_MS in all, and /health reads a table within HEALTH_TIMEOUT_MS. Past them the
 * caller gets STORE_UNAVAILABLE with HTTP 503, and the process keeps serving.
 */
const LIMITS = { STORE_STATEMENT_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '4000', HEALTH_TIMEOUT_MS: '500' };
const SAFETY_NET = 30_000; // only so a broken build fails instead of hanging; never the assertion

const post = (s: TestServer, query: string) => postQuery(s.url, query, SAFETY_NET);

function wrongCredentials(): Promise<string> {
  const u = new URL(MYSQL_URL);
  u.username = 'nosuchuser';
  u.password = 's3cret-pw';
  return Promise.resolve(u.toString());
}
async function nothingListening(): Promise<string> {
  return `mysql://root:s3cret-pw@127.0.0.1:${await freePort()}/test`;
}
function noSuchHost(): Promise<string> {
  return Promise.resolve('mysql://root:s3cret-pw@nosuchhost.invalid:3306/test');
}

const health = async (s: TestServer, path = '/health') =>
  (await fetch(new URL(path, s.url), { signal: AbortSignal.timeout(SAFETY_NET) })).status;

describe('a MariaDB operational store behind a link that hangs, and under a table lock', () => {
  let db: TempStore;
  let proxy: TcpProxy;
  let s: TestServer;
  beforeAll(async () => {
    db = await tempMysql('bounded');
    let viaProxy: string;
    ({ proxy, url: viaProxy } = await proxied(db.url));
    s = await startTestServer('sqlite', { env: { DATABASE_URL: viaProxy, ...LIMITS } });
    await s.ok(`mutation { createProject(input: { name: "bounded" }) { name } }`);
  });
  afterAll(async () => {
    proxy?.resume();
    try {
      await s?.close();
    } finally {
      await proxy?.cut();
      await db?.drop();
    }
  });

  it('a held table lock: reads and writes fail with STORE_UNAVAILABLE and 503, /health fails, /health/live answers; all recover on unlock', async () => {
    const locker = await mysql.createConnection(db.url);
    try {
      await locker.query('LOCK TABLES resource WRITE');
      const read = await post(s, `{ projects { name } }`);
      expect(read.status).toBe(503);
      expect(codes(read.body as never)).toEqual(['STORE_UNAVAILABLE']);
      expect(read.body.errors![0].message).toBe('The operational store is unavailable: timed out');

      const write = await post(s, `mutation { createProject(input: { name: "while-locked" }) { name } }`);
      expect(write.status).toBe(503);
      expect(codes(write.body as never)).toEqual(['STORE_UNAVAILABLE']);

      expect(await health(s)).toBe(503);
      expect(await health(s, '/health/live')).toBe(200);
    } finally {
      await locker.query('UNLOCK TABLES');
      await locker.end();
    }
    expect(await health(s)).toBe(200);
    expect(await s.ok(`{ project(name: "bounded") { name } }`)).toEqual({ project: { name: 'bounded' } });
    // The write that timed out left nothing behind.
    expect(await s.ok(`{ project(name: "while-locked") { name } }`)).toEqual({ project: null });
  });

  it('a hung link: requests fail with STORE_UNAVAILABLE and 503 instead of waiting, /health fails; all recover when the link does', async () => {
    proxy.stall();
    try {
      const read = await post(s, `{ projects { name } }`);
      expect(read.status).toBe(503);
      expect(codes(read.body as never)).toEqual(['STORE_UNAVAILABLE']);
      expect(read.body.errors![0].message).toMatch(/^The operational store is unavailable: timed out/);
      const write = await post(s, `mutation { createProject(input: { name: "while-hung" }) { name } }`);
      expect(write.status).toBe(503);
      expect(codes(write.body as never)).toEqual(['STORE_UNAVAILABLE']);
      expect(await health(s)).toBe(503);
      expect(await health(s, '/health/live')).toBe(200);
      // Several at once: each ends within its own bound, none waits behind the others forever.
      const many = await Promise.all(Array.from({ length: 12 }, () => post(s, `{ projects { name } }`)));
      expect(many.map((r) => r.status)).toEqual(Array(12).fill(503));
    } finally {
      proxy.resume();
    }
    await until('/health to answer 200 again', async () => (await health(s)) === 200);
    expect(await s.ok(`{ project(name: "bounded") { name } }`)).toEqual({ project: { name: 'bounded' } });
  });
});

describe('an operational store that cannot be reached: start-up fails saying why, in words', () => {
  const start = async (url: string): Promise<Error | undefined> => {
    const dir = tempSqlite();
    const env = {
      DATABASE_URL: url,
      CLIENT_DATABASE_URL: (await dir).url,
      PORT: '0',
      SEED_DEMO: 'false',
      GC_INTERVAL_SECONDS: '0',
      REVALIDATE_INTERVAL_SECONDS: '0',
      AUTH_MODE: 'none',
      STORE_STATEMENT_TIMEOUT_MS: '2000',
    };
    try {
      const app = await startApp(loadConfig(env), createLogger('silent'), env);
      await app.stop();
      return undefined;
    } catch (e) {
      return e as Error;
    } finally {
      await (await dir).drop();
    }
  };

  it.each([
    ['wrong user and password', wrongCredentials, 'rejected the credentials'],
    ['nothing listening', nothingListening, 'refused the connection'],
    ['a host that does not exist', noSuchHost, /host not found|timed out/],
  ] as const)('%s', async (_, makeUrl, reason) => {
    const err = await start(await makeUrl());
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err!.message).toMatch(typeof reason === 'string' ? new RegExp(`^The operational store is unavailable: ${reason}$`) : reason);
    expect(err!.message).not.toMatch(/nosuchuser|s3cret|127\.0\.0\.1|nosuchhost|Access denied|ECONN/);
  });
});

describe('a client store with wrong credentials or no server: REMOTE_SOURCE_UNAVAILABLE in words', () => {
  let s: TestServer;
  afterAll(async () => {
    await s?.close();
  });

  it.each([
    ['wrong credentials', wrongCredentials, 'rejected the credentials'],
    ['nothing listening', nothingListening, 'refused the connection'],
  ] as const)('%s', async (_, makeUrl, reason) => {
    await s?.close();
    s = await startTestServer('sqlite', { env: { CLIENT_DATABASE_URL: await makeUrl(), REMOTE_BREAKER_THRESHOLD: '100' } });
    const res = await s.gql(`{ employees(first: 3) { employeeId } }`);
    expect(codes(res)).toEqual(['REMOTE_SOURCE_UNAVAILABLE']);
    expect(res.errors![0].message).toBe(`The store holding Employee (client) is unavailable: client store unavailable: ${reason}`);
  });
});
