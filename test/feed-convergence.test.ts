import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Db } from '../src/data/db.js';
import { DEMO_EMPLOYEES, createClientTables, execClientSql, insertDemoClientRows } from '../src/remote/client-demo.js';
import { spawnSubgraph, type SubgraphProcess } from './fixtures/subgraph-process.js';
import { until } from './support/poll.js';
import { createDomain, createGroups } from './support/remote-fixtures.js';
import type { TestServer } from './support/server.js';
import { tempMysql, type TempStore } from './support/stores.js';

/**
 * Two replicas (separate processes) consume one change feed against one MariaDB: the cache
 * converges on the last event per key whatever the order, repetition, crashes or poison, and on
 * the client store through the sweep when no event comes.
 */

const NATS_HOST = process.env.TEST_NATS_HOST ?? '127.0.0.1:4222';
const REDIS_HOST = process.env.TEST_REDIS_HOST ?? '127.0.0.1:6379';
const KEYS = DEMO_EMPLOYEES.map((e) => e.employeeId);
const unique = (prefix: string) => `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

interface Broker {
  url: string;
  publish(body: unknown): Promise<void>;
  /** Every event handed to the consumer group was acknowledged. */
  settled(): Promise<boolean>;
  deadLetters(): Promise<number>;
  /** Deletes the stream and creates it empty again. */
  recreate(): Promise<void>;
  /** Deletes the stream: no event comes any more. */
  remove(): Promise<void>;
  close(): Promise<void>;
}

const CONSUMER = 'integrity-subgraph';

async function natsBroker(): Promise<Broker> {
  const nc: NatsConnection = await connect({ servers: NATS_HOST });
  const jsm: JetStreamManager = await nc.jetstreamManager();
  const js = nc.jetstream();
  const stream = unique('conv');
  const create = () => jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
  await create();
  return {
    url: `nats://${NATS_HOST}/${stream}`,
    async publish(body) {
      await js.publish(`${stream}.mysql.employee`, typeof body === 'string' ? new TextEncoder().encode(body) : JSON.stringify(body));
    },
    async settled() {
      const info = await jsm.consumers.info(stream, CONSUMER).catch(() => null);
      return info !== null && info.num_pending === 0 && info.num_ack_pending === 0;
    },
    async deadLetters() {
      const info = await jsm.streams.info(`${stream}_DEADLETTER`).catch(() => null);
      return info?.state.messages ?? 0;
    },
    async recreate() {
      await jsm.streams.delete(stream);
      await create();
    },
    async remove() {
      await jsm.streams.delete(stream).catch(() => {});
    },
    async close() {
      await jsm.streams.delete(stream).catch(() => {});
      await jsm.streams.delete(`${stream}_DEADLETTER`).catch(() => {});
      await nc.close();
    },
  };
}

async function redisBroker(): Promise<Broker> {
  const [host, port] = REDIS_HOST.split(':');
  const redis = new Redis({ host, port: Number(port) });
  const key = unique('conv');
  return {
    url: `redis://${REDIS_HOST}/${key}`,
    async publish(body) {
      await redis.xadd(key, '*', 'value', typeof body === 'string' ? body : JSON.stringify(body));
    },
    async settled() {
      const groups = (await redis.call('XINFO', 'GROUPS', key).catch(() => [])) as unknown[][];
      const group = groups
        .map((g) => Object.fromEntries(Array.from({ length: g.length / 2 }, (_, i) => [g[2 * i], g[2 * i + 1]])))
        .find((g) => g.name === CONSUMER);
      return group !== undefined && Number(group.pending) === 0 && Number(group.lag) === 0;
    },
    deadLetters: () => redis.xlen(`${key}:deadletter`),
    async recreate() {
      await redis.del(key);
    },
    async remove() {
      await redis.del(key);
    },
    async close() {
      await redis.del(key, `${key}:deadletter`);
      await redis.quit();
    },
  };
}

/**
 * Debezium MySQL events. The binlog position orders them (commit order; ts_ms is only the
 * statement's start): here it follows `tsMs`, as a store's commits would.
 */
function event(op: 'c' | 'u' | 'd', id: string, name: string | null, tsMs: number) {
  const row = { employee_id: id, name, email: null, department: 'conv' };
  return {
    schema: { type: 'struct' },
    payload: {
      op,
      before: op === 'd' ? row : null,
      after: op === 'd' ? null : row,
      source: { connector: 'mysql', db: 'client', table: 'employee', ts_ms: tsMs, file: 'mysql-bin.000001', pos: tsMs, row: 0 },
      ts_ms: tsMs + 5,
    },
  };
}

/** A Debezium event with only a time (no binlog position): ordered on the connector's clock. */
function tsEvent(id: string, name: string, tsMs: number) {
  return {
    payload: {
      op: 'u',
      before: null,
      after: { employee_id: id, name, email: null, department: 'conv' },
      source: { table: 'employee', ts_ms: tsMs },
      ts_ms: tsMs,
    },
  };
}

const OWNERS = `{ deploymentIntentGroups(project: "rp", first: 100) { name owner { status key entity { name } } } }`;

describe.each(['nats', 'redis'] as const)('change feed convergence, two replicas on MariaDB (%s)', (transport) => {
  let broker: Broker;
  let op: TempStore;
  let client: TempStore;
  let db: Db;
  const replicas: SubgraphProcess[] = [];
  let urls: string[] = [];

  async function gql(url: string, query: string) {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
    const body = (await res.json()) as { data?: Record<string, any>; errors?: unknown[] };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data!;
  }
  /** key → { status, name } as a reader of replica `i` sees it. */
  async function owners(i = 0): Promise<Map<string, { status: string; name: string | null }>> {
    const data = await gql(urls[i], OWNERS);
    return new Map(
      (data.deploymentIntentGroups as any[]).map((g) => [
        g.owner.key.employeeId as string,
        { status: g.owner.status as string, name: g.owner.entity?.name ?? null },
      ]),
    );
  }

  async function startReplica(env: Record<string, string>): Promise<SubgraphProcess> {
    const proc = spawnSubgraph({
      DATABASE_URL: op.url,
      CLIENT_DATABASE_URL: client.url,
      PORT: '0',
      AUTH_MODE: 'none',
      SEED_DEMO: 'false',
      GC_INTERVAL_SECONDS: '0',
      REMOTE_RETRIES: '0',
      LOG_LEVEL: 'warn',
      CHANGE_FEED_URL: broker.url,
      CHANGE_FEED_MAX_DELIVERIES: '3',
      CHANGE_FEED_RETRY_DELAY_MS: '100',
      CHANGE_FEED_REDELIVER_MS: '1500',
      ...env,
    });
    replicas.push(proc);
    await proc.waitForStdout(/Open Apollo Sandbox: (\S+)/, 60_000);
    return proc;
  }
  const urlOf = (p: SubgraphProcess) => p.stdout().match(/Open Apollo Sandbox: (\S+)/)![1];

  async function startPair(env: Record<string, string>) {
    const pair = [await startReplica(env), await startReplica(env)];
    urls = pair.map(urlOf);
    return pair;
  }
  async function stopAll() {
    for (const p of replicas.splice(0)) {
      p.child.kill('SIGTERM');
      await p.waitForExit(20_000).catch(() => p.kill());
    }
  }

  const settled = (what: string) => until(what, () => broker.settled(), 60_000, 100);

  beforeAll(async () => {
    broker = transport === 'nats' ? await natsBroker() : await redisBroker();
    op = await tempMysql('conv');
    client = await tempMysql('convclient');
    await createClientTables(client.url);
    await insertDemoClientRows(client.url);
    db = await Db.open({ url: op.url });
    // Phase one: events only (no sweep), so every state seen comes from the feed.
    await startPair({ REVALIDATE_INTERVAL_SECONDS: '0' });
    const s = { ok: (q: string) => gql(urls[0], q) } as unknown as TestServer;
    await createDomain(s);
    await createGroups(
      s,
      KEYS.map((k) => `g-${k}`),
      KEYS,
    );
  }, 180_000);

  afterAll(async () => {
    await stopAll();
    await db?.close();
    await broker?.close();
    await op?.drop();
    await client?.drop();
  }, 60_000);

  /** Every key's name in the client store: `<key> <suffix>`. */
  const storeNames = (suffix: string) =>
    execClientSql(
      client.url,
      KEYS.map((k) => `UPDATE employee SET name = '${k} ${suffix}' WHERE employee_id = '${k}'`),
    );

  const version = (name: string | null) => (name === null ? -1 : Number(/v(\d+)$/.exec(name)?.[1] ?? 0));

  it('out-of-order and duplicate events never make a row go back; every key ends at its newest event', async () => {
    // The store has moved on to the newest state; its history arrives out of order. (An event
    // ignored as older that differs from the cache has its key checked at the store.)
    await storeNames('v5');
    const base = Date.now();
    const order = [1, 4, 2, 5, 3, 5, 1]; // v5 twice, v1 again at the end
    const sampled = new Map<string, number>();
    let regressions: string[] = [];
    const sample = async () => {
      for (const i of [0, 1]) {
        for (const [key, seen] of await owners(i)) {
          const v = seen.status === 'DELETED' ? -1 : version(seen.name);
          // A DELETE at t=3.5 sits between v3 and v4: the newest state seen never goes back.
          const rank = v === -1 ? 3.5 : v;
          if (rank < (sampled.get(key) ?? 0)) regressions.push(`${key}: ${sampled.get(key)} -> ${rank}`);
          sampled.set(key, Math.max(rank, sampled.get(key) ?? 0));
        }
      }
    };
    for (const v of order) {
      for (const key of KEYS) await broker.publish(event('u', key, `${key} v${v}`, base + v * 10));
      await sample();
    }
    for (const key of KEYS) await broker.publish(event('d', key, null, base + 35)); // older than v4
    await settled('every event acknowledged');
    await sample();
    expect(regressions).toEqual([]);
    const final = await owners(1);
    for (const key of KEYS) expect(final.get(key)).toEqual({ status: 'FRESH', name: `${key} v5` });
    regressions = [];
  });

  it('a poison event goes to the dead letter after CHANGE_FEED_MAX_DELIVERIES; the events behind it are applied', async () => {
    const before = await broker.deadLetters();
    const base = Date.now();
    await broker.publish(event('u', '', 'no key', base)); // an empty key can never be applied
    await broker.publish('{ this is not json');
    for (const key of KEYS) await broker.publish(event('u', key, `${key} v6`, base + 1));
    await until(
      'the events behind the poison ones',
      async () => [...(await owners(0)).values()].every((o) => o.name?.endsWith('v6')),
      30_000,
    );
    await until('two dead letters', async () => (await broker.deadLetters()) === before + 2, 30_000);
    await settled('every event acknowledged');
  });

  it('a replica SIGKILLed mid-batch loses nothing and applies nothing twice', async () => {
    const [victim] = replicas;
    const appliedBefore = Number((await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM applied_event`))[0].n);
    const total = KEYS.length * 50;
    await storeNames('v56');
    const base = Date.now();
    const publishing = (async () => {
      for (let v = 7; v < 57; v++) for (const key of KEYS) await broker.publish(event('u', key, `${key} v${v}`, base + v * 10));
    })();
    const applied = async () => Number((await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM applied_event`))[0].n);
    await until('the replicas to start applying', async () => (await applied()) > appliedBefore, 20_000, 5);
    victim.child.kill('SIGKILL');
    const atKill = await applied();
    await publishing;
    await victim.exited;
    replicas.splice(replicas.indexOf(victim), 1);
    await settled('the survivor to take over and acknowledge everything');
    expect(atKill).toBeLessThan(appliedBefore + total); // it died with work left
    // Every event was recorded exactly once (the event id is the primary key), none lost.
    expect(Number((await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM applied_event`))[0].n)).toBe(appliedBefore + total);
    urls = [urlOf(replicas[0])];
    const final = await owners(0);
    for (const key of KEYS) expect(final.get(key)).toEqual({ status: 'FRESH', name: `${key} v56` });
    // Two replicas again for what follows.
    urls.push(urlOf(await startReplica({ REVALIDATE_INTERVAL_SECONDS: '0' })));
  });

  it('applies the events of a stream deleted and created again', async () => {
    await broker.recreate();
    const base = Date.now();
    for (const key of KEYS) await broker.publish(event('d', key, null, base));
    await until("the recreated stream's deletes", async () => [...(await owners(1)).values()].every((o) => o.status === 'DELETED'), 60_000);
    for (const key of KEYS) await broker.publish(event('c', key, `${key} v100`, base + 10));
    await until(
      "the recreated stream's creates",
      async () => [...(await owners(0)).values()].every((o) => o.status === 'FRESH' && o.name?.endsWith('v100')),
      60_000,
    );
  });

  it('events dated ahead within the skew are applied (the sweep below still brings every row to the store); beyond it, in microseconds or of the wrong shape they go to the dead letter; the events behind are applied', async () => {
    const before = await broker.deadLetters();
    const now = Date.now();
    for (const key of KEYS) {
      await broker.publish(tsEvent(key, `${key} from the future`, now + 200_000));
      await broker.publish(tsEvent(key, `${key} in microseconds`, now * 1000));
      await broker.publish(tsEvent(key, `${key} an hour ahead`, now + 3_600_000));
    }
    await broker.publish({
      payload: {
        op: 'u',
        before: null,
        after: { employee_id: KEYS[0], name: { nested: [1, 2, 3] }, email: 12345 },
        source: { table: 'employee', ts_ms: now },
      },
    });
    await broker.publish(tsEvent(KEYS[1], `${KEYS[1]} from the future, again`, now + 200_001));
    await until('the events behind', async () => (await owners(0)).get(KEYS[1])?.name === `${KEYS[1]} from the future, again`, 30_000);
    await until('the dead letters', async () => (await broker.deadLetters()) === before + 2 * KEYS.length + 1, 30_000);
    await settled('every event acknowledged');
    for (const [key, seen] of await owners(1))
      if (key !== KEYS[1]) expect(seen).toEqual({ status: 'FRESH', name: `${key} from the future` });
  });

  it('with the feed down, the sweep converges on the store; an emptied and reloaded table heals every DELETED row', async () => {
    await stopAll();
    // Phase two: the sweep on (every second); then the feed's stream goes away.
    await startPair({ REVALIDATE_AFTER_SECONDS: '1', REVALIDATE_INTERVAL_SECONDS: '1' });
    await broker.remove();
    await execClientSql(client.url, [`UPDATE employee SET name = CONCAT(name, ' (swept)')`]);
    await until(
      "the sweep to bring every row to the store's state",
      async () => [...(await owners(0)).values()].every((o) => o.status === 'FRESH' && o.name?.endsWith('(swept)')),
      30_000,
    );
    await execClientSql(client.url, [`DELETE FROM employee`]);
    await until('every row flagged DELETED', async () => [...(await owners(1)).values()].every((o) => o.status === 'DELETED'), 30_000);
    await insertDemoClientRows(client.url, { employees: DEMO_EMPLOYEES });
    const healed = await until(
      'every row FRESH again',
      async () => {
        const seen = await owners(0);
        return [...seen.values()].every((o) => o.status === 'FRESH') && seen;
      },
      30_000,
    );
    for (const e of DEMO_EMPLOYEES) expect(healed.get(e.employeeId)).toEqual({ status: 'FRESH', name: e.name });
  }, 180_000);
});
