import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, spawnSubgraph, type Launcher } from './fixtures/subgraph-process.js';
import { until } from './support/poll.js';
import { tempMysql, type OperationalKind, type TempStore } from './support/stores.js';

/**
 * Stopping the real process the way a container runtime or a terminal does: SIGTERM or SIGINT to
 * node itself, or to `npm start` (PID 1 in many images). Every time, the request in flight gets
 * its complete answer, then the process exits 0 (within SHUTDOWN_TIMEOUT_MS, else exit 1) and no
 * process of the group is left behind.
 */

// A request that keeps the server busy for a while (hundreds of resolver calls).
const HEAVY = `{ ${Array.from({ length: 500 }, (_, i) => `p${i}: projects { name compositeApps { name profiles { name deploymentIntentGroups { name clusters { name } } } } }`).join('\n')} }`;

const CASES: Array<[Launcher, OperationalKind, NodeJS.Signals]> = [
  ['node', 'sqlite', 'SIGTERM'],
  ['node', 'mariadb', 'SIGTERM'],
  ['node', 'sqlite', 'SIGINT'],
  ['node', 'mariadb', 'SIGINT'],
  ['npm', 'sqlite', 'SIGTERM'],
  ['npm', 'mariadb', 'SIGINT'],
];

describe('graceful stop of the real process', () => {
  let dataDir: string;
  const dbs: TempStore[] = [];
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'shutdown-'));
  });
  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    await Promise.all(dbs.map((d) => d.drop()));
  });

  it.each(CASES)(
    '%s on %s: on %s finishes the request in flight with a complete 200, stops everything, exits 0',
    async (launcher, store, signal) => {
      const port = await freePort();
      const env: Record<string, string> = {
        DATA_DIR: join(dataDir, `${launcher}-${store}-${signal}`),
        PORT: String(port),
        GC_INTERVAL_SECONDS: '1',
        REVALIDATE_INTERVAL_SECONDS: '1',
        SEED_DEMO: 'true',
        AUTH_MODE: 'none',
        NODE_ENV: 'production',
        SHUTDOWN_TIMEOUT_MS: '20000',
        // HEAVY is deliberately expensive (500 aliases of nested lists): above the default request limits, which are not what this test is about.
        LIMIT_MAX_ALIASES: '500',
        LIMIT_MAX_TOKENS: '100000',
        LIMIT_MAX_COST: String(Number.MAX_SAFE_INTEGER),
        LIMIT_MAX_LIST_ITEMS: '100000',
      };
      if (store === 'mariadb') {
        const db = await tempMysql('stop');
        dbs.push(db);
        env.DATABASE_URL = db.url;
      }
      const proc = spawnSubgraph(env, launcher);
      try {
        // npm start may first build dist/.
        const [, url] = await proc.waitForStdout(/Integrity subgraph ready(?:\. Open Apollo Sandbox:| at) (\S+)/, 180_000);
        expect(url).toBe(`http://127.0.0.1:${port}/graphql`);

        const body = JSON.stringify({ query: HEAVY });
        // `Expect: 100-continue` makes the server confirm it has taken the request in before the
        // body is sent: the signal lands while the request is provably in flight.
        const response = new Promise<{ status: number; text: string; complete: boolean } | { error: string }>((res) => {
          const req = request(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' },
          });
          req.on('continue', () => {
            process.kill(proc.child.pid!, signal);
            req.end(body);
          });
          req.on('response', (r) => {
            let text = '';
            r.setEncoding('utf8');
            r.on('data', (d: string) => (text += d));
            r.on('end', () => res({ status: r.statusCode!, text, complete: r.complete }));
            r.on('error', (e) => res({ error: e.message }));
          });
          req.on('error', (e) => res({ error: e.message }));
        });

        const got = await response;
        const exit = await proc.waitForExit(30_000);
        const story = `request: ${'error' in got ? got.error : `HTTP ${got.status}`}; process exit: ${JSON.stringify(exit)}\n${proc.stdout().slice(-3000)}${proc.stderr().slice(-2000)}`;
        expect('error' in got, `the request in flight was cut off (${story})`).toBe(false);
        const ok = got as { status: number; text: string; complete: boolean };
        expect(ok.status, story).toBe(200);
        expect(ok.complete).toBe(true);
        const json = JSON.parse(ok.text) as { data: Record<string, { name: string }[]> };
        expect(Object.keys(json.data)).toHaveLength(500);
        expect(json.data.p499.map((p) => p.name)).toEqual(expect.arrayContaining(['retail', 'logistics']));

        expect(exit, story).toEqual({ code: 0, signal: null });
        expect(proc.stdout()).toContain('shutting down');
        expect(proc.stdout()).toMatch(/"msg":"stopped"/);
        // Nothing listens any more, and nothing of the process group is left (no orphaned node under npm).
        await expect(fetch(`http://127.0.0.1:${port}/health/live`)).rejects.toThrow();
        // (tsx's esbuild helper, under the node launcher, leaves a moment after its parent.)
        await until(
          'the process group to be empty',
          async () => {
            try {
              process.kill(-proc.child.pid!, 0);
              return false;
            } catch (e) {
              return (e as NodeJS.ErrnoException).code === 'ESRCH';
            }
          },
          10_000,
        );
      } finally {
        await proc.kill();
      }
    },
  );
});
