import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Db } from '../src/data/db.js';
import { newId } from '../src/data/ids.js';
import { loadRelationshipSchema } from '../src/model/load.js';
import { applyRemoteChanges, type RemoteChange } from '../src/remote/changes.js';
import type { RemoteContext } from '../src/remote/context.js';
import { hashKey } from '../src/remote/hash.js';
import {
  beyondSkew,
  debeziumPosition,
  encodeFeedPosition,
  isNewerOnClock,
  isPositionValue,
  PositionOutOfRangeError,
  redisSequence,
  type FeedPosition,
} from '../src/remote/position.js';
import { remoteRefsByHash, storeFetched, storeGone, type ReadMark } from '../src/remote/remote-ref-store.js';
import { addSeconds } from '../src/data/time.js';
import { OPERATIONAL_KINDS, tempOperationalStore, type TempStore } from './support/stores.js';

describe('source positions', () => {
  const ts = (tsMs: number, seq = 0) => debeziumPosition({ ts_ms: tsMs }, undefined, seq)!;
  const binlog = (file: string, pos: number, row: number, seq = 1, tsMs = 1_700_000_000_000) =>
    debeziumPosition({ ts_ms: tsMs, file, pos, row }, undefined, seq)!;

  it("name their clock: MySQL binlog, PostgreSQL lsn, else the connector's ts_ms", () => {
    expect(binlog('mysql-bin.000001', 10, 0).clock).toBe('binlog');
    expect(debeziumPosition({ ts_ms: 1, lsn: 5 }, undefined, 1)!.clock).toBe('lsn');
    expect(ts(1).clock).toBe('ts');
    expect(debeziumPosition({}, 1_700_000_000_000, 1)).toMatchObject({ clock: 'ts', tsMs: 1_700_000_000_000 });
    expect(debeziumPosition({}, undefined, 1)).toBeNull();
    for (const p of [binlog('mysql-bin.000001', 10, 0), ts(1), ts(1_700_000_000_000, 9)]) expect(isPositionValue(p.value)).toBe(true);
  });

  it('order within one clock: binlog by file, pos, row whatever ts_ms says; then the transport sequence', () => {
    // MySQL's ts_ms is the statement's start in whole seconds: a later commit may carry an earlier second.
    expect(isNewerOnClock(binlog('mysql-bin.000001', 20, 0, 1, 1_000), 'binlog', binlog('mysql-bin.000001', 10, 0, 1, 9_000).value)).toBe(
      'newer',
    );
    expect(isNewerOnClock(binlog('mysql-bin.000002', 1, 0), 'binlog', binlog('mysql-bin.000001', 99_999, 5).value)).toBe('newer');
    expect(isNewerOnClock(binlog('mysql-bin.000001', 10, 1), 'binlog', binlog('mysql-bin.000001', 10, 0).value)).toBe('newer');
    expect(isNewerOnClock(binlog('mysql-bin.000001', 10, 1, 4), 'binlog', binlog('mysql-bin.000001', 10, 1, 5).value)).toBe('older');
    const pgAt = (lsn: number | string) => debeziumPosition({ ts_ms: 1_700_000_000_000, lsn }, undefined, 1)!;
    expect(isNewerOnClock(pgAt('33806336'), 'lsn', pgAt(33806000).value)).toBe('newer');
    expect(isNewerOnClock(ts(1_000, 2), 'ts', ts(1_000, 1).value)).toBe('newer');
  });

  it('are never compared across clocks', () => {
    expect(isNewerOnClock(ts(1), 'binlog', binlog('mysql-bin.000009', 9, 9).value)).toBe('other-clock');
    expect(isNewerOnClock(binlog('mysql-bin.000001', 1, 0), 'ts', ts(9e12).value)).toBe('other-clock');
    expect(isNewerOnClock(ts(1), null, null)).toBe('other-clock');
  });

  it('refuse what does not fit instead of clamping it (a clamped position would beat every later one)', () => {
    expect(() => debeziumPosition({ ts_ms: 1, file: 'mysql-bin.000001', pos: '1'.repeat(21) }, undefined, 1)).toThrow(
      PositionOutOfRangeError,
    );
    expect(() => debeziumPosition({ ts_ms: '9'.repeat(21) }, undefined, 1)).toThrow(PositionOutOfRangeError);
  });

  it('an event dated beyond the skew is found, a ts_ms in microseconds included', () => {
    const now = 1_700_000_000_000;
    expect(beyondSkew(ts(now + 299_000), now, 300_000)).toBeNull();
    expect(beyondSkew(ts(now + 301_000), now, 300_000)).toBe(301_000);
    expect(beyondSkew(ts(now * 1000), now, 300_000)).toBeGreaterThan(1e15);
    expect(beyondSkew(binlog('mysql-bin.000001', 1, 0, 1, now + 3_600_000), now, 300_000)).toBe(3_600_000);
    expect(beyondSkew(null, now, 300_000)).toBeNull();
  });

  it('keeps Redis entry order', () => {
    expect(redisSequence('1700000000000-10') > redisSequence('1700000000000-9')).toBe(true);
    expect(redisSequence('1700000000001-0') > redisSequence('1700000000000-999999')).toBe(true);
  });
});

describe.each(OPERATIONAL_KINDS)('compare-and-set on remote_ref (%s)', (kind) => {
  let store: TempStore;
  let db: Db;
  let ctx: RemoteContext;
  const key = (n: number) => ({ employeeId: `cas-${n}` });
  const at = (ms: number, seq = 0) => encodeFeedPosition('ts', BigInt(1_700_000_000_000 + ms), 0n, BigInt(seq), 1_700_000_000_000 + ms);

  beforeAll(async () => {
    store = await tempOperationalStore(kind);
    db = await Db.open({ url: store.url });
    await db.migrate();
    ctx = { db, schema: loadRelationshipSchema(), sources: new Map() };
  });
  afterAll(async () => {
    await db?.close();
    await store?.drop();
  });

  async function cachedRow(n: number, stateAt: string | null = null) {
    const id = newId();
    const now = await db.now();
    await db.execute(
      `INSERT INTO remote_ref (id, entity_type, remote_hash_key, remote_key_payload, cached_entity, deleted, fetched_at, last_error, failures, created_at, state_at)
       VALUES (?, 'Employee', ?, ?, ?, 0, ?, NULL, 0, ?, ?)`,
      [id, hashKey(key(n)), JSON.stringify(key(n)), JSON.stringify({ employeeId: `cas-${n}`, name: 'v0' }), now, now, stateAt],
    );
    return id;
  }
  const row = async (n: number) => (await remoteRefsByHash(db, 'Employee', [hashKey(key(n))]))[0];
  const upsert = (n: number, name: string, position: FeedPosition | null): RemoteChange => ({
    entityType: 'Employee',
    key: key(n),
    op: 'UPSERT',
    entity: { employeeId: `cas-${n}`, name, email: null, department: null },
    position,
  });
  const mark = (startedAt: string): ReadMark => ({ startedAt, horizon: addSeconds(startedAt, 300) });

  it("a refetch writes only over a state established before it began (the operational store's clock)", async () => {
    const t = await db.now();
    const id = await cachedRow(1, t);
    const now = await db.now();
    expect(await storeFetched(db, [{ id, entity: { employeeId: 'cas-1', name: 'read before' } }], now, mark(addSeconds(t, -1)))).toBe(0);
    expect(await storeGone(db, [id], now, 'gone', mark(t))).toBe(0);
    expect(await row(1)).toMatchObject({ entity: { name: 'v0' }, deleted: false, stateAt: t });
    const later = addSeconds(t, 1);
    expect(await storeFetched(db, [{ id, entity: { employeeId: 'cas-1', name: 'read after' } }], now, mark(later))).toBe(1);
    expect(await row(1)).toMatchObject({ entity: { name: 'read after' }, stateAt: later });
    expect(await storeGone(db, [id], now, 'gone', mark(addSeconds(t, 2)))).toBe(1);
    expect(await row(1)).toMatchObject({ deleted: true, status: 'DELETED' });
  });

  it('a state dated beyond the horizon (a clock set back) holds no refetch back', async () => {
    const t = await db.now();
    const id = await cachedRow(4, addSeconds(t, 86_400));
    expect(await storeFetched(db, [{ id, entity: { employeeId: 'cas-4', name: 'read' } }], t, mark(t))).toBe(1);
  });

  it('events apply in source order whatever order they arrive in; older and repeated ones are ignored', async () => {
    await cachedRow(2);
    const newest = upsert(2, 'third', at(30));
    const del = { entityType: 'Employee', key: key(2), op: 'DELETE' as const, position: at(20) };
    const oldest = upsert(2, 'first', at(10));
    expect(await applyRemoteChanges(ctx, [newest, del])).toMatchObject({ refreshed: 1, markedDeleted: 0, ignored: 1 });
    expect(await applyRemoteChanges(ctx, [oldest, newest])).toMatchObject({ refreshed: 0, ignored: 2 });
    expect(await row(2)).toMatchObject({ entity: { name: 'third' }, deleted: false, position: at(30).value, clock: 'ts' });
    // a delete that is newer wins; an upsert in the same millisecond with a later sequence heals
    expect(await applyRemoteChanges(ctx, [{ ...del, position: at(40) }])).toMatchObject({ markedDeleted: 1 });
    expect(await applyRemoteChanges(ctx, [upsert(2, 'back', at(40, 1))])).toMatchObject({ refreshed: 1 });
    expect(await row(2)).toMatchObject({ entity: { name: 'back' }, status: 'FRESH' });
  });

  it('an event of another clock is never taken for older: it is written', async () => {
    await cachedRow(5);
    expect(await applyRemoteChanges(ctx, [upsert(5, 'ahead', at(Date.now() - 1_700_000_000_000 + 200_000))])).toMatchObject({
      refreshed: 1,
    });
    const binlog = debeziumPosition({ ts_ms: 1, file: 'mysql-bin.000001', pos: 4, row: 0 }, undefined, 1);
    expect(await applyRemoteChanges(ctx, [upsert(5, 'binlog', binlog)])).toMatchObject({ refreshed: 1 });
    expect(await row(5)).toMatchObject({ entity: { name: 'binlog' }, clock: 'binlog' });
  });

  it('two writers applying overlapping batches in opposite orders end at the newest state, without deadlock', async () => {
    for (let n = 10; n < 20; n++) await cachedRow(n);
    const events = (suffix: string, base: number) => Array.from({ length: 10 }, (_, i) => upsert(10 + i, `${suffix}${i}`, at(base + i)));
    const a = events('a', 1000);
    const b = events('b', 2000).reverse();
    await Promise.all([applyRemoteChanges(ctx, a), applyRemoteChanges(ctx, b), applyRemoteChanges(ctx, a)]);
    for (let i = 0; i < 10; i++) expect((await row(10 + i)).entity).toMatchObject({ name: `b${i}` });
  });

  it('an event without a position is as of the moment it is applied, in the order given', async () => {
    await cachedRow(3);
    const plain = (name: string): RemoteChange => ({
      entityType: 'Employee',
      key: key(3),
      op: 'UPSERT',
      entity: { employeeId: 'cas-3', name },
    });
    expect(await applyRemoteChanges(ctx, [plain('one'), plain('two')])).toMatchObject({ refreshed: 2 });
    expect(await applyRemoteChanges(ctx, [plain('three')])).toMatchObject({ refreshed: 1 });
    expect((await row(3)).entity).toMatchObject({ name: 'three' });
    // it dates the row's state: a refetch that began before it cannot overwrite it
    const { stateAt } = await row(3);
    expect(
      await storeFetched(
        db,
        [{ id: (await row(3)).id, entity: { employeeId: 'cas-3', name: 'stale read' } }],
        stateAt!,
        mark(addSeconds(stateAt!, -0.001)),
      ),
    ).toBe(0);
  });

  it('an event dated beyond CHANGE_FEED_MAX_CLOCK_SKEW_SECONDS is refused with BAD_USER_INPUT, a ts_ms in microseconds included', async () => {
    await cachedRow(6);
    const nowMs = Date.now();
    for (const tsMs of [nowMs + 3_600_000, nowMs * 1000]) {
      const p = debeziumPosition({ ts_ms: tsMs }, undefined, 1);
      await expect(applyRemoteChanges(ctx, [upsert(6, 'future', p)])).rejects.toMatchObject({
        code: 'BAD_USER_INPUT',
        message: expect.stringMatching(/CHANGE_FEED_MAX_CLOCK_SKEW_SECONDS/),
      });
    }
    expect(await row(6)).toMatchObject({ entity: { name: 'v0' }, position: null });
    // within the skew it is applied (and can freeze nothing: see feed-convergence.test.ts)
    expect(await applyRemoteChanges(ctx, [upsert(6, 'soon', debeziumPosition({ ts_ms: nowMs + 60_000 }, undefined, 1))])).toMatchObject({
      refreshed: 1,
    });
  });
});
