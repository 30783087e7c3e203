import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { runEtl } from '../src/demo/etl.js';
import { DEMO_EMPLOYEES, queryClientSql } from '../src/remote/client-demo.js';
import { until } from './support/poll.js';
import { createDomain, createGroups } from './support/remote-fixtures.js';
import { startTestServer, type TestServer } from './support/server.js';

const REDIS_HOST = process.env.TEST_REDIS_HOST ?? '127.0.0.1:6379';
const KEYS = DEMO_EMPLOYEES.map((e) => e.employeeId);
const OWNERS = `{ deploymentIntentGroups(project: "rp", first: 100) { owner { status key entity { name department } } } }`;

/** A fixed sequence of rolls: every action happens. */
function rolls() {
  const values = [0.1, 0.3, 0.6, 0.9];
  let i = 0;
  return () => values[i++ % values.length];
}

async function storeTruth(url: string) {
  const [rows] = await queryClientSql(url, [{ sql: 'SELECT employee_id, department FROM employee' }]);
  return new Map(rows.map((r) => [String(r.employee_id), r.department === null ? null : String(r.department)]));
}

async function converged(s: TestServer) {
  const truth = await storeTruth(s.clientUrl);
  const { deploymentIntentGroups } = await s.ok(OWNERS);
  return (deploymentIntentGroups as any[]).every((g) => {
    const id = g.owner.key.employeeId as string;
    return truth.has(id) ? g.owner.status === 'FRESH' && g.owner.entity.department === truth.get(id) : g.owner.status === 'DELETED';
  });
}

describe('npm run demo:etl', () => {
  const servers: TestServer[] = [];
  const redis = new Redis({ host: REDIS_HOST.split(':')[0], port: Number(REDIS_HOST.split(':')[1]) });
  const key = `etl_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  afterAll(async () => {
    for (const s of servers) await s.close();
    await redis.del(key, `${key}:deadletter`);
    await redis.quit();
  });

  it("reloads the client store like the daily job and its events bring every status to the store's truth", async () => {
    const s = await startTestServer('sqlite', { env: { CHANGE_FEED_URL: `redis://${REDIS_HOST}/${key}` } });
    servers.push(s);
    await createDomain(s);
    await createGroups(
      s,
      KEYS.map((k) => `g-${k}`),
      KEYS,
    );
    const { actions, published } = await runEtl({ clientUrl: s.clientUrl, feedUrl: `redis://${REDIS_HOST}/${key}`, random: rolls() });
    const counts = (a: string) => [...actions.values()].filter((x) => x === a).length;
    expect([counts('deleted'), counts('reinserted'), counts('changed'), counts('kept')]).toEqual([5, 5, 5, 5]);
    expect(published).toBe(20); // 5 deletes, 5 deletes + 5 creates, 5 updates
    await until('every status to follow the events', () => converged(s));
    // The next day brings back what was deleted.
    const next = await runEtl({ clientUrl: s.clientUrl, feedUrl: `redis://${REDIS_HOST}/${key}`, random: () => 0.9 });
    expect([...next.actions.values()].filter((a) => a === 'reinserted')).toHaveLength(5);
    await until('the deleted rows to heal', () => converged(s));
  });

  it("without a feed only reloads; the sweep brings the statuses to the store's truth", async () => {
    const s = await startTestServer('sqlite', { env: { REVALIDATE_AFTER_SECONDS: '1', REVALIDATE_INTERVAL_SECONDS: '1' } });
    servers.push(s);
    await createDomain(s);
    await createGroups(
      s,
      KEYS.map((k) => `g-${k}`),
      KEYS,
    );
    expect((await runEtl({ clientUrl: s.clientUrl, random: rolls() })).published).toBe(0);
    await until('the sweep to catch up', () => converged(s));
  });
});
