import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Db } from '../src/data/db.js';
import { newId } from '../src/data/ids.js';
import { loadRelationshipSchema } from '../src/engine/schema/load.js';
import { applyRemoteChanges, type RemoteChange } from '../src/remote/changes.js';
import type { RemoteContext } from '../src/remote/context.js';
import { hashKey } from '../src/remote/hash.js';
import { debeziumPosition, encodePosition, isNewer, readPosition, redisSequence } from '../src/remote/position.js';
import { remoteRefsByHash, storeFetched, storeGone } from '../src/remote/remote-ref-store.js';
import { OPERATIONAL_KINDS, tempOperationalStore, type TempStore } from './support/stores.js';

describe('source positions', () => {
  it('are fixed-width and order by commit time, then the connector position, then the transport sequence', () => {
    const ordered = [
      encodePosition({ tsMs: 999 }),
      encodePosition({ tsMs: 1_000, sequence: 7 }),
      encodePosition({ tsMs: 1_000, file: 1, pos: 9_999_999, row: 3 }),
      encodePosition({ tsMs: 1_000, file: 2, pos: 4 }),
      encodePosition({ tsMs: 1_000, file: 2, pos: 4, row: 1 }),
      encodePosition({ tsMs: 1_000, file: 2, pos: 4, row: 1, sequence: 2 }),
      encodePosition({ tsMs: 1_000, file: 2, pos: 5 }),
      encodePosition({ tsMs: 1_700_000_000_000 }),
      encodePosition({ tsMs: 1_700_000_000_001, pos: 2n ** 63n }),
    ];
    expect(new Set(ordered.map((p) => p.length))).toEqual(new Set([81]));
    expect([...ordered].sort()).toEqual(ordered);
    expect([...ordered].reverse().sort()).toEqual(ordered);
  });

  it('read from Debezium: MySQL file/pos/row, PostgreSQL lsn, source ts_ms before the envelope ts_ms', () => {
    const mysqlAt = (file: string, pos: number, row: number, seq = 1) =>
      debeziumPosition({ ts_ms: 1_700_000_000_000, file, pos, row }, 1_700_000_009_999, seq)!;
    expect(mysqlAt('mysql-bin.000002', 10, 0) > mysqlAt('mysql-bin.000001', 99_999, 5)).toBe(true);
    expect(mysqlAt('mysql-bin.000001', 10, 1) > mysqlAt('mysql-bin.000001', 10, 0)).toBe(true);
    // the same source position delivered twice: the transport sequence breaks the tie
    expect(mysqlAt('mysql-bin.000001', 10, 1, 5) > mysqlAt('mysql-bin.000001', 10, 1, 4)).toBe(true);
    const pgAt = (lsn: number | string) => debeziumPosition({ ts_ms: 1_700_000_000_000, lsn }, undefined, 1)!;
    expect(pgAt('33806336') > pgAt(33806000)).toBe(true);
    expect(debeziumPosition({}, 1_700_000_000_000, 1)!.startsWith('001700000000000-')).toBe(true);
    expect(debeziumPosition({}, undefined, 1)).toBeNull();
  });

  it('a read at the store clock beats older events and loses to events in the same millisecond or later', () => {
    const read = readPosition(1_700_000_000_000.9);
    expect(isNewer(read, encodePosition({ tsMs: 1_699_999_999_999, file: 9, pos: 9, row: 9, sequence: 9 }))).toBe(true);
    expect(isNewer(encodePosition({ tsMs: 1_700_000_000_000, sequence: 1 }), read)).toBe(true);
    expect(isNewer(read, read)).toBe(false);
    expect(isNewer(read, null)).toBe(true);
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
  const at = (ms: number, seq = 0) => encodePosition({ tsMs: 1_700_000_000_000 + ms, sequence: seq });

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

  async function cachedRow(n: number, position: string | null) {
    const id = newId();
    const now = await db.now();
    await db.execute(
      `INSERT INTO remote_ref (id, entity_type, remote_hash_key, remote_key_payload, cached_entity, deleted, fetched_at, last_error, failures, created_at, source_position)
       VALUES (?, 'Employee', ?, ?, ?, 0, ?, NULL, 0, ?, ?)`,
      [id, hashKey(key(n)), JSON.stringify(key(n)), JSON.stringify({ employeeId: `cas-${n}`, name: 'v0' }), now, now, position],
    );
    return id;
  }
  const row = async (n: number) => (await remoteRefsByHash(db, 'Employee', [hashKey(key(n))]))[0];
  const upsert = (n: number, name: string, position: string): RemoteChange => ({
    entityType: 'Employee',
    key: key(n),
    op: 'UPSERT',
    entity: { employeeId: `cas-${n}`, name, email: null, department: null },
    position,
  });

  it('a refetch writes only over an older state', async () => {
    const id = await cachedRow(1, at(100));
    const now = await db.now();
    expect(await storeFetched(db, [{ id, entity: { employeeId: 'cas-1', name: 'older read' } }], now, at(50))).toBe(0);
    expect(await storeGone(db, [id], now, 'gone', at(100))).toBe(0);
    expect(await row(1)).toMatchObject({ entity: { name: 'v0' }, deleted: false, position: at(100) });
    expect(await storeFetched(db, [{ id, entity: { employeeId: 'cas-1', name: 'newer read' } }], now, at(150))).toBe(1);
    expect(await row(1)).toMatchObject({ entity: { name: 'newer read' }, position: at(150) });
    expect(await storeGone(db, [id], now, 'gone', at(200))).toBe(1);
    expect(await row(1)).toMatchObject({ deleted: true, status: 'DELETED', position: at(200) });
  });

  it('events apply in source order whatever order they arrive in; older and repeated ones are ignored', async () => {
    await cachedRow(2, null);
    const newest = upsert(2, 'third', at(30));
    const del = { entityType: 'Employee', key: key(2), op: 'DELETE' as const, position: at(20) };
    const oldest = upsert(2, 'first', at(10));
    expect(await applyRemoteChanges(ctx, [newest, del])).toMatchObject({ refreshed: 1, markedDeleted: 0, ignored: 1 });
    expect(await applyRemoteChanges(ctx, [oldest, newest])).toMatchObject({ refreshed: 0, ignored: 2 });
    expect(await row(2)).toMatchObject({ entity: { name: 'third' }, deleted: false, position: at(30) });
    // a delete that is newer wins; an upsert in the same millisecond with a later sequence heals
    expect(await applyRemoteChanges(ctx, [{ ...del, position: at(40) }])).toMatchObject({ markedDeleted: 1 });
    expect(await applyRemoteChanges(ctx, [upsert(2, 'back', at(40, 1))])).toMatchObject({ refreshed: 1 });
    expect(await row(2)).toMatchObject({ entity: { name: 'back' }, status: 'FRESH' });
  });

  it('two writers applying overlapping batches in opposite orders end at the newest state, without deadlock', async () => {
    for (let n = 10; n < 20; n++) await cachedRow(n, null);
    const events = (suffix: string, base: number) => Array.from({ length: 10 }, (_, i) => upsert(10 + i, `${suffix}${i}`, at(base + i)));
    const a = events('a', 1000);
    const b = events('b', 2000).reverse();
    await Promise.all([applyRemoteChanges(ctx, a), applyRemoteChanges(ctx, b), applyRemoteChanges(ctx, a)]);
    for (let i = 0; i < 10; i++) expect((await row(10 + i)).entity).toMatchObject({ name: `b${i}` });
  });

  it('an event without a position is as of the moment it is applied, in the order given', async () => {
    await cachedRow(3, null);
    const plain = (name: string): RemoteChange => ({ entityType: 'Employee', key: key(3), op: 'UPSERT', entity: { employeeId: 'cas-3', name } });
    expect(await applyRemoteChanges(ctx, [plain('one'), plain('two')])).toMatchObject({ refreshed: 2 });
    expect(await applyRemoteChanges(ctx, [plain('three')])).toMatchObject({ refreshed: 1 });
    expect((await row(3)).entity).toMatchObject({ name: 'three' });
    // an event stamped long ago does not overwrite it
    expect(await applyRemoteChanges(ctx, [upsert(3, 'stale', at(0))])).toMatchObject({ ignored: 1 });
  });
});
