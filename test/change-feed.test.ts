import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { connect, type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { until } from './support/poll.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register } from 'prom-client';
import { DomainError } from '../src/engine/errors.js';
import type { RemoteTypeDef } from '../src/model/model.js';
import { MalformedChangeEventError, parseDebezium, typesByTableOf, type RemoteChangeEvent } from '../src/remote/feed/events.js';
import { startChangeFeed, type ChangeFeed, type ChangeFeedOptions } from '../src/remote/feed/index.js';

/** NATS (JetStream) and Redis must be up: a missing service fails the suite, it never skips it. */
const NATS_HOST = process.env.TEST_NATS_HOST ?? '127.0.0.1:4222';
const REDIS_HOST = process.env.TEST_REDIS_HOST ?? '127.0.0.1:6379';

const Employee: RemoteTypeDef = {
  name: 'Employee',
  source: 'client',
  table: 'employee',
  typename: 'Employee',
  key: ['employeeId'],
  columns: { employeeId: 'employee_id', name: 'name' },
  fields: ['employeeId', 'name'],
};
const BankAccount: RemoteTypeDef = {
  name: 'BankAccount',
  source: 'client',
  table: 'bank_account',
  typename: 'BankAccount',
  key: ['number', 'owner'],
  columns: { number: 'account_number', owner: 'owner_id', bank: 'bank' },
  fields: ['number', 'owner', 'bank'],
};
const remoteTypes = [Employee, BankAccount];
const byTable = typesByTableOf(remoteTypes);
const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

const unique = (prefix: string) => `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

type Row = Record<string, unknown>;
const change = (op: string, table: string, before: Row | null, after: Row | null) => ({
  op,
  before,
  after,
  source: { connector: 'postgresql', schema: 'public', table, lsn: 123456 },
  ts_ms: 1700000000000,
});
const envelope = (payload: unknown) => ({ schema: { type: 'struct', name: 'envelope' }, payload });
const employee = (id: number, name: string) => ({ employee_id: id, name, salary: 1 });
const account = (number: string, owner: number, bank: string) => ({ account_number: number, owner_id: owner, bank });

/** An event without its source position (checked on its own). */
const bare = (e: RemoteChangeEvent | null) => {
  if (!e) return e;
  const { position: _position, ...rest } = e;
  return rest;
};

/** Records what `apply` is given; `until` resolves once a condition holds (bounded). */
function recorder(fail?: (events: RemoteChangeEvent[], attempt: number) => boolean) {
  const attempts: RemoteChangeEvent[][] = [];
  const applied: RemoteChangeEvent[] = [];
  const waiters = new Set<() => void>();
  const apply = async (withPositions: RemoteChangeEvent[]) => {
    const events = withPositions.map(({ position: _position, ...e }) => e);
    attempts.push(events);
    if (fail?.(events, attempts.length)) {
      for (const w of waiters) w();
      throw new Error('apply failed on purpose');
    }
    applied.push(...events);
    for (const w of waiters) w();
  };
  const until = (cond: () => boolean, what: string, ms = 15_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!cond()) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}`));
      }, ms);
      waiters.add(check);
      check();
    });
  const ids = () => applied.map((e) => e.eventId);
  return { apply, attempts, applied, until, ids };
}

/** Polls a condition in a bounded loop (for state outside `apply`, like acknowledgements). */
const eventually = (cond: () => Promise<boolean>, what: string, ms = 15_000) => until(what, cond, ms, 50);

/** stop() must settle (a hanging stop fails the test by its timeout); timing thresholds stay out of tests. */
async function timedStop(feed: ChangeFeed) {
  await feed.stop();
}

describe('parseDebezium', () => {
  it('reads an enveloped create, mapping columns to fields and the key to strings', () => {
    const event = parseDebezium(envelope(change('c', 'employee', null, employee(7, 'Ann'))), byTable, 'nats:S:1', 1);
    // ts_ms of the envelope (the source has none here), the PostgreSQL lsn, the transport sequence
    expect(event?.position).toEqual({
      clock: 'lsn',
      value: `${'0'.repeat(20)}-${'123456'.padStart(40, '0')}-${'1'.padStart(24, '0')}`,
      tsMs: 1700000000000,
    });
    expect(bare(event)).toEqual({
      entityType: 'Employee',
      key: { employeeId: '7' },
      op: 'UPSERT',
      entity: { employeeId: 7, name: 'Ann' },
      eventId: 'nats:S:1',
    });
  });

  it('reads bare updates and snapshot reads as upserts', () => {
    for (const op of ['u', 'r']) {
      const event = parseDebezium(change(op, 'employee', employee(7, 'Ann'), employee(7, 'Anne')), byTable, `id-${op}`);
      expect(bare(event)).toEqual({
        entityType: 'Employee',
        key: { employeeId: '7' },
        op: 'UPSERT',
        entity: { employeeId: 7, name: 'Anne' },
        eventId: `id-${op}`,
      });
    }
  });

  it('reads a delete from the before row', () => {
    expect(bare(parseDebezium(change('d', 'employee', employee(8, 'Bob'), null), byTable, 'x'))).toEqual({
      entityType: 'Employee',
      key: { employeeId: '8' },
      op: 'DELETE',
      entity: null,
      eventId: 'x',
    });
    expect(parseDebezium(envelope(change('d', 'employee', { employee_id: 9 }, null)), byTable, 'y')?.key).toEqual({ employeeId: '9' });
  });

  it('builds a composite key through the column mapping', () => {
    const event = parseDebezium(envelope(change('u', 'bank_account', null, account('DE-1', 42, 'GLS'))), byTable, 'k');
    expect(event).toMatchObject({
      entityType: 'BankAccount',
      key: { number: 'DE-1', owner: '42' },
      op: 'UPSERT',
      entity: { number: 'DE-1', owner: 42, bank: 'GLS' },
    });
  });

  it('ignores tables nobody maps, tombstones and other operations', () => {
    expect(parseDebezium(change('c', 'payroll', null, { id: 1 }), byTable, 'a')).toBeNull();
    expect(parseDebezium(envelope(change('c', 'payroll', null, { id: 1 })), byTable, 'a')).toBeNull();
    expect(parseDebezium(null, byTable, 'a')).toBeNull();
    expect(parseDebezium(envelope(null), byTable, 'a')).toBeNull();
    expect(parseDebezium(change('t', 'employee', null, null), byTable, 'a')).toBeNull();
  });

  it('reads flattened events whose parts are JSON text', () => {
    const event = parseDebezium(
      { op: 'c', source: JSON.stringify({ table: 'employee' }), before: 'null', after: JSON.stringify(employee(3, 'Cy')) },
      byTable,
      'redis:k:1-0',
    );
    expect(event).toMatchObject({ entityType: 'Employee', key: { employeeId: '3' }, op: 'UPSERT', eventId: 'redis:k:1-0' });
  });

  it('refuses what it cannot read', () => {
    expect(() => parseDebezium('garbage', byTable, 'a')).toThrow(MalformedChangeEventError);
    expect(() => parseDebezium({ before: null, after: {} }, byTable, 'a')).toThrow(/op/);
    expect(() => parseDebezium(change('c', 'employee', null, { name: 'no key' }), byTable, 'a')).toThrow(/employee_id/);
    expect(() => parseDebezium(change('d', 'employee', null, null), byTable, 'a')).toThrow(/before/);
  });
});

describe('startChangeFeed', () => {
  it('names CHANGE_FEED_URL for an unknown scheme or a missing stream', async () => {
    const options: ChangeFeedOptions = { apply: async () => {}, remoteTypes, log };
    await expect(startChangeFeed('kafka://127.0.0.1:9092/topic', options)).rejects.toThrow(/CHANGE_FEED_URL/);
    await expect(startChangeFeed('not a url', options)).rejects.toThrow(/CHANGE_FEED_URL/);
    await expect(startChangeFeed(`nats://${NATS_HOST}/${unique('missing')}`, options)).rejects.toThrow(/CHANGE_FEED_URL/);
    await expect(startChangeFeed(`nats://${NATS_HOST}/`, options)).rejects.toThrow(/CHANGE_FEED_URL/);
  });
});

describe('NATS JetStream feed', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let js: JetStreamClient;
  const streams: string[] = [];

  beforeAll(async () => {
    nc = await connect({ servers: NATS_HOST });
    jsm = await nc.jetstreamManager();
    js = nc.jetstream();
  });

  afterAll(async () => {
    for (const s of streams) {
      await jsm.streams.delete(s).catch(() => {});
      await jsm.streams.delete(`${s}_DEADLETTER`).catch(() => {});
    }
    await nc?.close();
  });

  const identities = new Map<string, string>();
  /** Event ids carry the stream's creation time: a stream created again does not repeat them. */
  const natsId = (stream: string, seq: number) => `nats:${stream}:${identities.get(stream)}:${seq}`;

  async function newStream() {
    const name = unique('feedtest');
    const info = await jsm.streams.add({ name, subjects: [`${name}.>`] });
    identities.set(name, String(info.created).replace(/\D/g, ''));
    streams.push(name);
    return name;
  }

  const publish = async (subject: string, body: unknown) =>
    (await js.publish(subject, typeof body === 'string' ? new TextEncoder().encode(body) : JSON.stringify(body))).seq;

  const settled = (stream: string, durable: string) =>
    eventually(async () => {
      const info = await jsm.consumers.info(stream, durable);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }, 'every message acknowledged');

  it('applies events of every subject with stream-sequence ids, skipping what it cannot read', async () => {
    const stream = await newStream();
    const rec = recorder();
    const feed = await startChangeFeed(`nats://${NATS_HOST}/${stream}`, { apply: rec.apply, remoteTypes, log, consumer: 'c1' });
    try {
      const s1 = await publish(`${stream}.public.employee`, envelope(change('c', 'employee', null, employee(1, 'Ann'))));
      await publish(`${stream}.public.payroll`, change('c', 'payroll', null, { id: 1 }));
      await publish(`${stream}.public.employee`, 'not json');
      await publish(`${stream}.public.employee`, '');
      const s2 = await publish(`${stream}.public.bank_account`, change('u', 'bank_account', null, account('DE-1', 42, 'GLS')));
      const s3 = await publish(`${stream}.public.employee`, change('d', 'employee', employee(1, 'Ann'), null));
      await rec.until(() => rec.applied.length >= 3, 'three events');
      expect(rec.applied).toEqual([
        {
          entityType: 'Employee',
          key: { employeeId: '1' },
          op: 'UPSERT',
          entity: { employeeId: 1, name: 'Ann' },
          eventId: natsId(stream, s1),
        },
        {
          entityType: 'BankAccount',
          key: { number: 'DE-1', owner: '42' },
          op: 'UPSERT',
          entity: { number: 'DE-1', owner: 42, bank: 'GLS' },
          eventId: natsId(stream, s2),
        },
        { entityType: 'Employee', key: { employeeId: '1' }, op: 'DELETE', entity: null, eventId: natsId(stream, s3) },
      ]);
      await settled(stream, 'c1');
    } finally {
      await timedStop(feed);
    }
  });

  it('delivers an event again when apply throws (at-least-once)', async () => {
    const stream = await newStream();
    let failed = false;
    const rec = recorder((events) => {
      if (failed || !events.some((e) => e.key.employeeId === '5')) return false;
      failed = true;
      return true;
    });
    const feed = await startChangeFeed(`nats://${NATS_HOST}/${stream}`, {
      apply: rec.apply,
      remoteTypes,
      log,
      consumer: 'c2',
      retryDelayMs: 100,
    });
    try {
      const seq = await publish(`${stream}.public.employee`, change('c', 'employee', null, employee(5, 'Eve')));
      await rec.until(() => rec.ids().includes(natsId(stream, seq)), 'the redelivered event');
      expect(failed).toBe(true);
      const tries = rec.attempts.filter((batch) => batch.some((e) => e.eventId === natsId(stream, seq)));
      expect(tries.length).toBeGreaterThanOrEqual(2);
      await settled(stream, 'c2');
    } finally {
      await timedStop(feed);
    }
  });

  it('resumes a durable consumer after a restart without repeating acknowledged events', async () => {
    const stream = await newStream();
    const url = `nats://${NATS_HOST}/${stream}`;
    const first = recorder();
    const feedA = await startChangeFeed(url, { apply: first.apply, remoteTypes, log, consumer: 'durable' });
    const s1 = await publish(`${stream}.a`, change('c', 'employee', null, employee(1, 'Ann')));
    const s2 = await publish(`${stream}.b`, change('c', 'employee', null, employee(2, 'Bob')));
    await first.until(() => first.applied.length >= 2, 'the first two events');
    await timedStop(feedA);
    expect(first.ids()).toEqual([natsId(stream, s1), natsId(stream, s2)]);
    const info = await jsm.consumers.info(stream, 'durable');
    expect(info.num_ack_pending).toBe(0);

    const second = recorder();
    const feedB = await startChangeFeed(url, { apply: second.apply, remoteTypes, log, consumer: 'durable' });
    try {
      const s3 = await publish(`${stream}.a`, change('u', 'employee', null, employee(1, 'Anne')));
      await second.until(() => second.ids().includes(natsId(stream, s3)), 'the new event');
      expect(second.ids()).toEqual([natsId(stream, s3)]);
      await settled(stream, 'durable');
    } finally {
      await timedStop(feedB);
    }
  });

  it('shares the work between replicas on one durable consumer', async () => {
    const stream = await newStream();
    const url = `nats://${NATS_HOST}/${stream}`;
    const a = recorder();
    const b = recorder();
    const feeds = [
      await startChangeFeed(url, { apply: a.apply, remoteTypes, log, consumer: 'shared', batchSize: 2 }),
      await startChangeFeed(url, { apply: b.apply, remoteTypes, log, consumer: 'shared', batchSize: 2 }),
    ];
    try {
      const seqs: number[] = [];
      for (let i = 0; i < 40; i++) seqs.push(await publish(`${stream}.e`, change('c', 'employee', null, employee(i, `n${i}`))));
      const all = () => new Set([...a.ids(), ...b.ids()]);
      // Either replica may take the last events: wait on both, not on `a`'s apply alone.
      await eventually(async () => all().size === seqs.length, 'every event on some replica');
      expect([...all()].sort()).toEqual(seqs.map((s) => natsId(stream, s)).sort());
      await settled(stream, 'shared');
    } finally {
      for (const f of feeds) await timedStop(f);
    }
  });

  it('moves a poison event to the dead letter after maxDeliveries, with its reason, and applies the events behind it', async () => {
    const stream = await newStream();
    const rec = recorder((events) => events.some((e) => e.key.employeeId === '13'));
    const poison = (events: RemoteChangeEvent[]) => {
      if (events.some((e) => e.key.employeeId === '13')) throw new DomainError('BAD_USER_INPUT', 'employee 13 is poison');
    };
    const feed = await startChangeFeed(`nats://${NATS_HOST}/${stream}`, {
      apply: async (events) => {
        poison(events);
        return rec.apply(events);
      },
      remoteTypes,
      log,
      consumer: 'dl',
      retryDelayMs: 50,
      maxDeliveries: 3,
    });
    try {
      const s1 = await publish(`${stream}.e`, change('c', 'employee', null, employee(1, 'Ann')));
      const bad = await publish(`${stream}.e`, change('c', 'employee', null, employee(13, 'Poison')));
      await publish(`${stream}.e`, 'not json');
      const s2 = await publish(`${stream}.e`, change('c', 'employee', null, employee(2, 'Bob')));
      await rec.until(() => rec.ids().includes(natsId(stream, s2)), 'the event behind the poison one');
      expect(rec.ids()).toEqual(expect.arrayContaining([natsId(stream, s1), natsId(stream, s2)]));
      const dead = await eventually(async () => {
        const info = await jsm.streams.info(`${stream}_DEADLETTER`).catch(() => null);
        return info?.state.messages === 2;
      }, 'two dead letters');
      expect(dead).toBe(true);
      const reasons: string[] = [];
      for (const seq of [1, 2]) {
        const m = await jsm.streams.getMessage(`${stream}_DEADLETTER`, { seq });
        reasons.push(`${m.header.get('Integrity-Event-Id')} ${m.header.get('Integrity-Dead-Letter-Reason')}`);
      }
      expect(reasons.some((r) => /cannot be read/.test(r))).toBe(true);
      expect(reasons.find((r) => r.includes('poison'))).toBe(`${natsId(stream, bad)} employee 13 is poison`);
      await settled(stream, 'dl');
      const metrics = await register.getSingleMetricAsString('integrity_change_events_dead_lettered_total');
      expect(metrics).toMatch(/integrity_change_events_dead_lettered_total\{transport="nats"\} [1-9]/);
    } finally {
      await timedStop(feed);
    }
  });

  it('a poison event holds up nothing behind it while it waits for its retries (finding 17)', async () => {
    const stream = await newStream();
    const rec = recorder();
    let poisonTries = 0;
    const feed = await startChangeFeed(`nats://${NATS_HOST}/${stream}`, {
      apply: async (events) => {
        if (events.some((e) => e.key.employeeId === '13')) {
          if (events.length === 1) poisonTries++;
          throw new DomainError('BAD_USER_INPUT', 'employee 13 is poison');
        }
        return rec.apply(events);
      },
      remoteTypes,
      log,
      consumer: 'slow-retry',
      // Far longer than the test may take: the events behind must not wait for it.
      retryDelayMs: 600_000,
      maxDeliveries: 3,
    });
    try {
      await publish(`${stream}.e`, change('c', 'employee', null, employee(13, 'Poison')));
      const behind: number[] = [];
      for (let i = 20; i < 25; i++) behind.push(await publish(`${stream}.e`, change('c', 'employee', null, employee(i, `n${i}`))));
      await rec.until(() => behind.every((seq) => rec.ids().includes(natsId(stream, seq))), 'the events behind the poison one');
      expect(poisonTries).toBe(1);
    } finally {
      await timedStop(feed);
    }
  });

  it('moves an event dated beyond the skew (or in microseconds) to the dead letter at once, with the reason', async () => {
    const stream = await newStream();
    const rec = recorder();
    const feed = await startChangeFeed(`nats://${NATS_HOST}/${stream}`, {
      apply: rec.apply,
      remoteTypes,
      log,
      consumer: 'skew',
      maxClockSkewSeconds: 300,
    });
    try {
      const dated = (id: number, tsMs: number) => ({
        ...change('u', 'employee', null, employee(id, `at ${tsMs}`)),
        ts_ms: undefined,
        source: { table: 'employee', ts_ms: tsMs },
      });
      const future = await publish(`${stream}.e`, dated(1, Date.now() + 3_600_000));
      const micros = await publish(`${stream}.e`, dated(2, Date.now() * 1000));
      const within = await publish(`${stream}.e`, dated(3, Date.now() + 60_000));
      await rec.until(() => rec.ids().includes(natsId(stream, within)), 'the event within the skew');
      await eventually(
        async () => (await jsm.streams.info(`${stream}_DEADLETTER`).catch(() => null))?.state.messages === 2,
        'two dead letters',
      );
      const dead = new Map<string, string>();
      for (const seq of [1, 2]) {
        const m = await jsm.streams.getMessage(`${stream}_DEADLETTER`, { seq });
        dead.set(
          m.header.get('Integrity-Event-Id'),
          `${m.header.get('Integrity-Deliveries')} ${m.header.get('Integrity-Dead-Letter-Reason')}`,
        );
      }
      expect(dead.get(natsId(stream, future))).toMatch(
        /^1 refused: .* dated 3600 s ahead of now, more than CHANGE_FEED_MAX_CLOCK_SKEW_SECONDS \(300 s\)/,
      );
      expect(dead.get(natsId(stream, micros))).toMatch(/^1 refused: .* ahead of now/);
      expect(rec.ids()).toEqual([natsId(stream, within)]);
      await settled(stream, 'skew');
    } finally {
      await timedStop(feed);
    }
  });

  it('applies the events of a stream deleted and created again (new ids, not taken for applied ones)', async () => {
    const stream = await newStream();
    const rec = recorder();
    const feed = await startChangeFeed(`nats://${NATS_HOST}/${stream}`, {
      apply: rec.apply,
      remoteTypes,
      log,
      consumer: 'again',
      retryDelayMs: 50,
    });
    try {
      const s1 = await publish(`${stream}.e`, change('c', 'employee', null, employee(1, 'Ann')));
      const firstId = natsId(stream, s1);
      await rec.until(() => rec.ids().includes(firstId), 'the first event');
      await jsm.streams.delete(stream);
      const info = await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
      identities.set(stream, String(info.created).replace(/\D/g, ''));
      const again = await publish(`${stream}.e`, change('u', 'employee', null, employee(1, 'Anne')));
      expect(again).toBe(s1);
      await rec.until(() => rec.ids().includes(natsId(stream, again)), "the recreated stream's event", 30_000);
      expect(natsId(stream, again)).not.toBe(firstId);
    } finally {
      await timedStop(feed);
    }
  });
});

describe('Redis stream feed', () => {
  let redis: Redis;
  const keys: string[] = [];

  beforeAll(async () => {
    const [host, port] = REDIS_HOST.split(':');
    redis = new Redis({ host, port: Number(port) });
  });

  afterAll(async () => {
    if (keys.length) await redis.del(...keys, ...keys.map((k) => `${k}:deadletter`));
    await redis?.quit();
  });

  const newKey = () => {
    const key = unique('feedtest');
    keys.push(key);
    return key;
  };
  const add = async (key: string, body: unknown) =>
    (await redis.xadd(key, '*', 'value', typeof body === 'string' ? body : JSON.stringify(body)))!;
  const pendingCount = async (key: string, group: string) => Number(((await redis.xpending(key, group)) as unknown[])[0]);
  const settled = (key: string, group: string) =>
    eventually(async () => (await pendingCount(key, group)) === 0, 'every entry acknowledged');

  it('applies entries with entry ids, reading `value` or all fields, skipping what it cannot read', async () => {
    const key = newKey();
    const rec = recorder();
    const feed = await startChangeFeed(`redis://${REDIS_HOST}/${key}`, { apply: rec.apply, remoteTypes, log, consumer: 'g1' });
    try {
      const id1 = await add(key, envelope(change('c', 'employee', null, employee(1, 'Ann'))));
      await add(key, 'not json');
      await add(key, '');
      await add(key, change('c', 'payroll', null, { id: 1 }));
      const id2 = (await redis.xadd(
        key,
        '*',
        'op',
        'u',
        'source',
        JSON.stringify({ table: 'bank_account' }),
        'after',
        JSON.stringify(account('DE-1', 42, 'GLS')),
      ))!;
      const id3 = await add(key, change('d', 'employee', employee(1, 'Ann'), null));
      await rec.until(() => rec.applied.length >= 3, 'three events');
      expect(rec.applied).toEqual([
        {
          entityType: 'Employee',
          key: { employeeId: '1' },
          op: 'UPSERT',
          entity: { employeeId: 1, name: 'Ann' },
          eventId: `redis:${key}:${id1}`,
        },
        {
          entityType: 'BankAccount',
          key: { number: 'DE-1', owner: '42' },
          op: 'UPSERT',
          entity: { number: 'DE-1', owner: 42, bank: 'GLS' },
          eventId: `redis:${key}:${id2}`,
        },
        { entityType: 'Employee', key: { employeeId: '1' }, op: 'DELETE', entity: null, eventId: `redis:${key}:${id3}` },
      ]);
      await settled(key, 'g1');
    } finally {
      await timedStop(feed);
    }
  });

  it('delivers an entry again when apply throws (at-least-once)', async () => {
    const key = newKey();
    let failed = false;
    const rec = recorder((events) => {
      if (failed || !events.some((e) => e.key.employeeId === '5')) return false;
      failed = true;
      return true;
    });
    const feed = await startChangeFeed(`redis://${REDIS_HOST}/${key}`, {
      apply: rec.apply,
      remoteTypes,
      log,
      consumer: 'g2',
      retryDelayMs: 100,
    });
    try {
      const id = await add(key, change('c', 'employee', null, employee(5, 'Eve')));
      const id2 = await add(key, change('c', 'employee', null, employee(6, 'Fay')));
      await rec.until(() => rec.ids().includes(`redis:${key}:${id2}`), 'both events');
      expect(failed).toBe(true);
      const tries = rec.attempts.filter((batch) => batch.some((e) => e.eventId === `redis:${key}:${id}`));
      expect(tries.length).toBeGreaterThanOrEqual(2);
      // The failed entry is retried before anything after it.
      expect(rec.ids()).toEqual([`redis:${key}:${id}`, `redis:${key}:${id2}`]);
      await settled(key, 'g2');
    } finally {
      await timedStop(feed);
    }
  });

  it('resumes the consumer group after a restart without repeating acknowledged entries', async () => {
    const key = newKey();
    const url = `redis://${REDIS_HOST}/${key}`;
    const first = recorder();
    const feedA = await startChangeFeed(url, { apply: first.apply, remoteTypes, log, consumer: 'g3' });
    const id1 = await add(key, change('c', 'employee', null, employee(1, 'Ann')));
    const id2 = await add(key, change('c', 'employee', null, employee(2, 'Bob')));
    await first.until(() => first.applied.length >= 2, 'the first two events');
    await timedStop(feedA);
    expect(first.ids()).toEqual([`redis:${key}:${id1}`, `redis:${key}:${id2}`]);
    expect(await pendingCount(key, 'g3')).toBe(0);
    // A stopped replica with nothing pending leaves no consumer name behind.
    expect(await redis.xinfo('CONSUMERS', key, 'g3')).toEqual([]);

    const second = recorder();
    const feedB = await startChangeFeed(url, { apply: second.apply, remoteTypes, log, consumer: 'g3' });
    try {
      const id3 = await add(key, change('u', 'employee', null, employee(1, 'Anne')));
      await second.until(() => second.ids().includes(`redis:${key}:${id3}`), 'the new event');
      expect(second.ids()).toEqual([`redis:${key}:${id3}`]);
      await settled(key, 'g3');
    } finally {
      await timedStop(feedB);
    }
  });

  it('takes over entries left pending by a consumer that died', async () => {
    const key = newKey();
    await redis.xgroup('CREATE', key, 'g4', '0', 'MKSTREAM');
    const id = await add(key, change('c', 'employee', null, employee(9, 'Ivy')));
    // A replica read it and died before acknowledging.
    const taken = await redis.xreadgroup('GROUP', 'g4', 'dead-replica', 'COUNT', 10, 'STREAMS', key, '>');
    expect(taken).not.toBeNull();
    expect(await pendingCount(key, 'g4')).toBe(1);

    const rec = recorder();
    const feed = await startChangeFeed(`redis://${REDIS_HOST}/${key}`, {
      apply: rec.apply,
      remoteTypes,
      log,
      consumer: 'g4',
      claimIdleMs: 200,
      blockMs: 100,
    });
    try {
      await rec.until(() => rec.ids().includes(`redis:${key}:${id}`), 'the reclaimed event');
      expect(rec.applied).toEqual([
        {
          entityType: 'Employee',
          key: { employeeId: '9' },
          op: 'UPSERT',
          entity: { employeeId: 9, name: 'Ivy' },
          eventId: `redis:${key}:${id}`,
        },
      ]);
      await settled(key, 'g4');
    } finally {
      await timedStop(feed);
    }
  });
  it('moves a poison entry to the dead letter after maxDeliveries, with its reason, and applies the entries behind it', async () => {
    const key = newKey();
    const rec = recorder();
    const feed = await startChangeFeed(`redis://${REDIS_HOST}/${key}`, {
      apply: async (events) => {
        if (events.some((e) => e.key.employeeId === '13')) throw new DomainError('BAD_USER_INPUT', 'employee 13 is poison');
        return rec.apply(events);
      },
      remoteTypes,
      log,
      consumer: 'dl',
      retryDelayMs: 50,
      maxDeliveries: 3,
    });
    try {
      const id1 = await add(key, change('c', 'employee', null, employee(1, 'Ann')));
      const bad = await add(key, change('c', 'employee', null, employee(13, 'Poison')));
      await add(key, 'not json');
      const id2 = await add(key, change('c', 'employee', null, employee(2, 'Bob')));
      await rec.until(() => rec.ids().includes(`redis:${key}:${id2}`), 'the entry behind the poison one');
      expect(rec.ids()).toEqual(expect.arrayContaining([`redis:${key}:${id1}`, `redis:${key}:${id2}`]));
      await eventually(async () => (await redis.xlen(`${key}:deadletter`)) === 2, 'two dead letters');
      const dead = (await redis.xrange(`${key}:deadletter`, '-', '+')).map(([, fields]) => {
        const o: Record<string, string> = {};
        for (let i = 0; i < fields.length; i += 2) o[fields[i]] = fields[i + 1];
        return o;
      });
      const poisoned = dead.find((d) => d.dead_letter_event_id === `redis:${key}:${bad}`);
      expect(poisoned).toMatchObject({ dead_letter_reason: 'employee 13 is poison', dead_letter_deliveries: '3' });
      expect(JSON.parse(poisoned!.value)).toMatchObject({ op: 'c' });
      expect(dead.some((d) => /cannot be read/.test(d.dead_letter_reason))).toBe(true);
      await settled(key, 'dl');
    } finally {
      await timedStop(feed);
    }
  });
  it('a poison entry holds up nothing behind it while it waits for its retries (finding 17)', async () => {
    const key = newKey();
    const rec = recorder();
    let poisonTries = 0;
    const feed = await startChangeFeed(`redis://${REDIS_HOST}/${key}`, {
      apply: async (events) => {
        if (events.some((e) => e.key.employeeId === '13')) {
          if (events.length === 1) poisonTries++;
          throw new DomainError('BAD_USER_INPUT', 'employee 13 is poison');
        }
        return rec.apply(events);
      },
      remoteTypes,
      log,
      consumer: 'slow-retry',
      // Far longer than the test may take: the entries behind must not wait for it.
      retryDelayMs: 600_000,
      maxDeliveries: 3,
      blockMs: 100,
    });
    try {
      await add(key, change('c', 'employee', null, employee(13, 'Poison')));
      const behind: string[] = [];
      // One by one, so that some arrive while the poison entry is pending: none of them waits for it.
      for (let i = 20; i < 25; i++) {
        behind.push(await add(key, change('c', 'employee', null, employee(i, `n${i}`))));
        await rec.until(() => rec.ids().includes(`redis:${key}:${behind[behind.length - 1]}`), `entry ${i}`);
      }
      expect(poisonTries).toBe(1);
      // Only the poison entry is left pending (the others are acknowledged once applied).
      await eventually(async () => (await pendingCount(key, 'slow-retry')) === 1, 'only the poison entry pending');
    } finally {
      await timedStop(feed);
    }
  });

  it('retries a poison entry after the delay and dead-letters it after maxDeliveries, while the entries behind flow', async () => {
    const key = newKey();
    const rec = recorder();
    const feed = await startChangeFeed(`redis://${REDIS_HOST}/${key}`, {
      apply: async (events) => {
        if (events.some((e) => e.key.employeeId === '13')) throw new DomainError('BAD_USER_INPUT', 'employee 13 is poison');
        return rec.apply(events);
      },
      remoteTypes,
      log,
      consumer: 'dl2',
      retryDelayMs: 50,
      maxDeliveries: 3,
      blockMs: 50,
    });
    try {
      const bad = await add(key, change('c', 'employee', null, employee(13, 'Poison')));
      const ok = await add(key, change('c', 'employee', null, employee(2, 'Bob')));
      await rec.until(() => rec.ids().includes(`redis:${key}:${ok}`), 'the entry behind');
      await eventually(async () => (await redis.xlen(`${key}:deadletter`)) === 1, 'the dead letter');
      const [[, fields]] = await redis.xrange(`${key}:deadletter`, '-', '+');
      const o: Record<string, string> = {};
      for (let i = 0; i < fields.length; i += 2) o[fields[i]] = fields[i + 1];
      expect(o).toMatchObject({
        dead_letter_event_id: `redis:${key}:${bad}`,
        dead_letter_reason: 'employee 13 is poison',
        dead_letter_deliveries: '3',
      });
      await settled(key, 'dl2');
    } finally {
      await timedStop(feed);
    }
  });

  it('moves an entry dated beyond the skew (or in microseconds) to the dead letter at once, with the reason', async () => {
    const key = newKey();
    const rec = recorder();
    const feed = await startChangeFeed(`redis://${REDIS_HOST}/${key}`, {
      apply: rec.apply,
      remoteTypes,
      log,
      consumer: 'skew',
      maxClockSkewSeconds: 300,
    });
    try {
      const dated = (id: number, tsMs: number) => ({
        ...change('u', 'employee', null, employee(id, `at ${tsMs}`)),
        ts_ms: undefined,
        source: { table: 'employee', ts_ms: tsMs },
      });
      const future = await add(key, dated(1, Date.now() + 3_600_000));
      const micros = await add(key, dated(2, Date.now() * 1000));
      const within = await add(key, dated(3, Date.now() + 60_000));
      await rec.until(() => rec.ids().includes(`redis:${key}:${within}`), 'the entry within the skew');
      await eventually(async () => (await redis.xlen(`${key}:deadletter`)) === 2, 'two dead letters');
      const dead = new Map(
        (await redis.xrange(`${key}:deadletter`, '-', '+')).map(([, fields]) => {
          const o: Record<string, string> = {};
          for (let i = 0; i < fields.length; i += 2) o[fields[i]] = fields[i + 1];
          return [o.dead_letter_event_id, `${o.dead_letter_deliveries} ${o.dead_letter_reason}`];
        }),
      );
      expect(dead.get(`redis:${key}:${future}`)).toMatch(
        /^1 refused: .* dated 3600 s ahead of now, more than CHANGE_FEED_MAX_CLOCK_SKEW_SECONDS \(300 s\)/,
      );
      expect(dead.get(`redis:${key}:${micros}`)).toMatch(/^1 refused: .* ahead of now/);
      expect(rec.ids()).toEqual([`redis:${key}:${within}`]);
      await settled(key, 'skew');
    } finally {
      await timedStop(feed);
    }
  });
});
