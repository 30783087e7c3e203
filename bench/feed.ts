import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { connect } from 'nats';
import { newId } from '../src/data/ids.js';
import { hashKey } from '../src/remote/hash.js';
import { encodeFeedPosition } from '../src/remote/position.js';
import { startBenchApp } from './lib/app.js';
import { progress, type BenchOptions } from './lib/options.js';
import { bulkInsert, openRaw, type Raw } from './lib/raw.js';
import { benchStores, type StoreKind } from './lib/stores.js';

/**
 * Issue 9, item 8: a burst of 10,000 Debezium events against 2,000 cached keys (5 versions per
 * key, published out of order: v3, v1, v5, v2, v4), through the change feed into the subgraph.
 * Measured: events applied per second (first publish to the last event acknowledged) and the time
 * until every row reflects its key's last event (v5). The floor: the same 10,000 compare-and-set
 * UPDATEs sent through the driver, one transaction per batch of 100 (the feed's batch size).
 */

export const FEED_KEYS = 2000;
const VERSIONS = [3, 1, 5, 2, 4];
const BATCH = 100;

export interface FeedRow {
  store: StoreKind;
  case: string;
  events: number;
  keys: number;
  /** Events per second until the last one was acknowledged (the floor: until the last UPDATE committed). */
  eventsPerSecond: number;
  /** From the first publish until every row held its key's last event. */
  convergedMs: number;
  /** From the first publish until the last event was acknowledged. */
  drainedMs: number;
  /** Events published per second (the producer's side). */
  publishPerSecond?: number;
  xFloor?: number;
}

export interface FeedResult {
  store: StoreKind;
  rows: FeedRow[];
}

const NATS_HOST = process.env.BENCH_NATS_HOST ?? '127.0.0.1:4222';
const REDIS_HOST = process.env.BENCH_REDIS_HOST ?? '127.0.0.1:6379';
const unique = (p: string) => `${p}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

// Keys the client store does not hold: for those it does (the demo's and the generated employees,
// e-1, e-2, …) the subgraph keeps what the store says, and the burst's names would not be the last word.
const keyOf = (i: number) => `feed-${i + 1}`;
const nameOf = (i: number, v: number) => `Person ${i + 1} v${v}`;

interface Broker {
  url: string;
  publishAll(bodies: string[]): Promise<void>;
  drained(): Promise<boolean>;
  close(): Promise<void>;
}

async function natsBroker(): Promise<Broker> {
  const nc = await connect({ servers: NATS_HOST });
  const jsm = await nc.jetstreamManager();
  const js = nc.jetstream();
  const stream = unique('bench_feed');
  await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
  return {
    url: `nats://${NATS_HOST}/${stream}`,
    async publishAll(bodies) {
      for (let i = 0; i < bodies.length; i += 500)
        await Promise.all(bodies.slice(i, i + 500).map((b) => js.publish(`${stream}.client.employee`, b)));
    },
    async drained() {
      const info = await jsm.consumers.info(stream, 'integrity-subgraph').catch(() => null);
      return info !== null && info.num_pending === 0 && info.num_ack_pending === 0;
    },
    async close() {
      await jsm.streams.delete(stream).catch(() => {});
      await nc.close();
    },
  };
}

async function redisBroker(): Promise<Broker> {
  const [host, port] = REDIS_HOST.split(':');
  const redis = new Redis({ host, port: Number(port) });
  const key = unique('bench_feed');
  return {
    url: `redis://${REDIS_HOST}/${key}`,
    async publishAll(bodies) {
      for (let i = 0; i < bodies.length; i += 500) {
        const p = redis.pipeline();
        for (const b of bodies.slice(i, i + 500)) p.xadd(key, '*', 'value', b);
        await p.exec();
      }
    },
    async drained() {
      const groups = (await redis.call('XINFO', 'GROUPS', key)) as unknown[][];
      const g = groups.map((x) => Object.fromEntries(Array.from({ length: x.length / 2 }, (_, i) => [x[2 * i], x[2 * i + 1]])))[0];
      return g !== undefined && Number(g.pending) === 0 && Number(g.lag) === 0;
    },
    async close() {
      await redis.del(key);
      await redis.quit();
    },
  };
}

/** The burst: 5 rounds over every key, versions out of order; each event's source position by version. */
function burst(base: number): string[] {
  const bodies: string[] = [];
  for (const v of VERSIONS) {
    for (let i = 0; i < FEED_KEYS; i++) {
      const row = { employee_id: keyOf(i), name: nameOf(i, v), email: `p${i + 1}@example.com`, department: 'Bench' };
      bodies.push(
        JSON.stringify({
          payload: {
            op: 'u',
            before: null,
            after: row,
            source: { connector: 'mysql', table: 'employee', ts_ms: base + v, file: 'mysql-bin.000001', pos: v * FEED_KEYS + i, row: 0 },
            ts_ms: base + v,
          },
        }),
      );
    }
  }
  return bodies;
}

async function cacheKeys(raw: Raw): Promise<void> {
  const now = '2000-01-01 00:00:00.000000';
  const rows = Array.from({ length: FEED_KEYS }, (_, i) => {
    const key = { employeeId: keyOf(i) };
    return [
      newId(),
      'Employee',
      hashKey(key),
      JSON.stringify(key),
      JSON.stringify({ employeeId: keyOf(i), name: nameOf(i, 0), email: null, department: null }),
      0,
      now,
      null,
      0,
      now,
      null,
    ];
  });
  await bulkInsert(
    raw,
    'remote_ref',
    [
      'id',
      'entity_type',
      'remote_hash_key',
      'remote_key_payload',
      'cached_entity',
      'deleted',
      'fetched_at',
      'last_error',
      'failures',
      'created_at',
      'source_position',
    ],
    rows,
  );
}

const countLast = async (raw: Raw) =>
  Number((await raw.all<{ n: number }>(`SELECT COUNT(*) AS n FROM remote_ref WHERE cached_entity LIKE '%v5"%'`))[0].n);

async function resetKeys(raw: Raw): Promise<void> {
  await raw.run(
    `UPDATE remote_ref SET source_position = NULL, source_clock = NULL, state_at = NULL, cached_entity = REPLACE(cached_entity, ' v5"', ' v0"')`,
  );
}

async function poll(what: () => Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await what())) {
    if (performance.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function runFeedBench(store: StoreKind, options: BenchOptions): Promise<FeedResult> {
  const rows: FeedRow[] = [];
  const events = FEED_KEYS * VERSIONS.length;
  for (const transport of ['redis', 'nats'] as const) {
    const { op, client, stops } = await benchStores(store, { mysqlUrl: options.mysqlUrl, employees: 20 });
    const broker = transport === 'nats' ? await natsBroker() : await redisBroker();
    stops.unshift(() => broker.close());
    try {
      const a = await startBenchApp(op.url, client.url, { CHANGE_FEED_URL: broker.url });
      stops.unshift(() => a.stop());
      const raw = await openRaw(op.url);
      stops.unshift(() => raw.close());
      await cacheKeys(raw);
      const bodies = burst(Date.now());
      progress(`feed/${store}/${transport}: ${events} events against ${FEED_KEYS} cached keys`);
      const t0 = performance.now();
      await broker.publishAll(bodies);
      const published = performance.now() - t0;
      let convergedMs = 0;
      await poll(async () => {
        if (!convergedMs && (await countLast(raw)) === FEED_KEYS) convergedMs = performance.now() - t0;
        return convergedMs > 0 && (await broker.drained());
      });
      const drainedMs = performance.now() - t0;
      if ((await countLast(raw)) !== FEED_KEYS) throw new Error('a row went back after converging');
      rows.push({
        store,
        case: `change feed (${transport}), one replica`,
        events,
        keys: FEED_KEYS,
        eventsPerSecond: Math.round(events / (drainedMs / 1000)),
        convergedMs: Math.round(convergedMs),
        drainedMs: Math.round(drainedMs),
        publishPerSecond: Math.round(events / (published / 1000)),
      });
      progress(
        `feed/${store}/${transport}: ${rows.at(-1)!.eventsPerSecond} events/s, every row at its last event after ${rows.at(-1)!.convergedMs} ms`,
      );

      if (transport === 'nats') {
        // The floor on the same rows: the events' compare-and-set UPDATEs through the driver.
        await resetKeys(raw);
        const floorBase = Date.now();
        const updates = VERSIONS.flatMap((v) =>
          Array.from({ length: FEED_KEYS }, (_, i) => ({
            hash: hashKey({ employeeId: keyOf(i) }),
            entity: JSON.stringify({ employeeId: keyOf(i), name: nameOf(i, v), email: `p${i + 1}@example.com`, department: 'Bench' }),
            position: encodeFeedPosition('binlog', 1n, BigInt(v * FEED_KEYS + i) * 10n ** 20n, 0n, floorBase + v).value,
          })),
        );
        const f0 = performance.now();
        for (let i = 0; i < updates.length; i += BATCH) {
          await raw.run(raw.kind === 'mysql' ? 'START TRANSACTION' : 'BEGIN');
          for (const u of updates.slice(i, i + BATCH)) {
            await raw.run(
              `UPDATE remote_ref SET cached_entity = ?, deleted = 0, fetched_at = '2000-01-01 00:00:00.000000', source_position = ?
               WHERE entity_type = 'Employee' AND remote_hash_key = ? AND (source_position IS NULL OR source_position < ?)`,
              [u.entity, u.position, u.hash, u.position],
            );
          }
          await raw.run('COMMIT');
        }
        const floorMs = performance.now() - f0;
        if ((await countLast(raw)) !== FEED_KEYS) throw new Error('the floor did not reach the last event everywhere');
        rows.push({
          store,
          case: `floor: ${events} compare-and-set UPDATEs, one transaction per ${BATCH}`,
          events,
          keys: FEED_KEYS,
          eventsPerSecond: Math.round(events / (floorMs / 1000)),
          convergedMs: Math.round(floorMs),
          drainedMs: Math.round(floorMs),
        });
        progress(`feed/${store}/floor: ${rows.at(-1)!.eventsPerSecond} updates/s`);
      }
    } finally {
      for (const stop of stops) await stop().catch((e) => progress(`feed/${store}: while stopping: ${(e as Error).message}`));
    }
  }
  const floor = rows.find((r) => r.case.startsWith('floor'));
  for (const r of rows) if (floor) r.xFloor = floor.eventsPerSecond / r.eventsPerSecond;
  return { store, rows };
}
