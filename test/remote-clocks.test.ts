import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_EMPLOYEES, execClientSql } from '../src/remote/client-demo.js';
import { debeziumPosition, type FeedPosition } from '../src/remote/position.js';
import { codes, startTestServer, type TestServer } from './support/server.js';
import { OPERATIONAL_KINDS } from './support/stores.js';
import { EMPLOYEE_AWAY, EMPLOYEE_BACK, OWNER_FIELDS, countingRemote, createDomain, createGroups, md5 } from './support/remote-fixtures.js';

/**
 * Issue 17, findings 14-16: whatever positions events carry (future-dated, in microseconds, of
 * another clock), nothing freezes a row; an event ignored as older that says something else is
 * checked at the store; a refetch during the writer's transaction does not hide the writer's
 * event; entities that do not fit their type never get in, and a cached one never fails a read.
 */

const APPLY = `mutation($events: [RemoteChangeInput!]!) { applyRemoteChanges(events: $events) { evicted refreshed markedDeleted ignored } }`;
const employee = (n: number) => DEMO_EMPLOYEES[n - 1];
const key = (n: number) => ({ employeeId: `e-${n}` });
const ts = (tsMs: number, seq = 1) => debeziumPosition({ ts_ms: tsMs }, undefined, seq);
let binlogPos = 1000;
const binlog = (tsMs: number) => debeziumPosition({ ts_ms: tsMs, file: 'mysql-bin.000003', pos: binlogPos++, row: 0 }, undefined, 1);

describe.each(OPERATIONAL_KINDS)('remote cache clocks (operational %s, client mariadb)', (op) => {
  let s: TestServer;
  const group: Record<number, string> = {};
  const owners = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

  beforeAll(async () => {
    // REVALIDATE_AFTER_SECONDS=0: a sweep run directly looks at every row; no timer runs one.
    s = await startTestServer(op, { client: 'mariadb', env: { REVALIDATE_AFTER_SECONDS: '0', REVALIDATE_INTERVAL_SECONDS: '0' } });
    await createDomain(s);
    const ids = await createGroups(
      s,
      owners.map((n) => `g${n}`),
      owners.map((n) => `e-${n}`),
    );
    for (const [i, n] of owners.entries()) group[n] = ids[i];
  }, 120_000);
  afterAll(async () => {
    await s?.close();
  });

  const ownerOf = async (n: number) =>
    (await s.ok(`query($id: ID!) { resource(id: $id) { ... on DeploymentIntentGroup { owner { ${OWNER_FIELDS} } } } }`, { id: group[n] }))
      .resource.owner;
  const upsert = (n: number, name: string, position: FeedPosition | null) => ({
    entityType: 'Employee',
    key: key(n),
    op: 'UPSERT' as const,
    entity: { employeeId: `e-${n}`, name, email: null, department: null },
    position,
  });
  const del = (n: number, position: FeedPosition | null) => ({ entityType: 'Employee', key: key(n), op: 'DELETE' as const, position });
  const apply = (events: Parameters<typeof s.app.engine.applyRemoteChanges>[0]) => s.app.engine.applyRemoteChanges(events);
  const rename = (n: number, name: string) =>
    execClientSql(s.clientUrl, [`UPDATE employee SET name = '${name}' WHERE employee_id = 'e-${n}'`]);
  const row = async (n: number) =>
    (
      await s.app.db.query<{ cached_entity: string | null; deleted: number | string; fetched_at: string; last_error: string | null }>(
        `SELECT cached_entity, deleted, fetched_at, last_error FROM remote_ref WHERE entity_type = 'Employee' AND remote_hash_key = ?`,
        [md5(JSON.stringify(key(n)))],
      )
    )[0];

  describe('finding 14: an event dated ahead freezes nothing', () => {
    it('a delete event dated before it is checked at the store, which has deleted the key', async () => {
      await apply([upsert(1, 'From the future', ts(Date.now() + 200_000))]);
      expect((await ownerOf(1)).entity.name).toBe('From the future');
      await execClientSql(s.clientUrl, [`DELETE FROM employee WHERE employee_id = 'e-1'`]);
      const { result } = await countingRemote(s, () => apply([del(1, ts(Date.now()))]));
      expect(result).toMatchObject({ ignored: 1, checked: 1 });
      expect(await ownerOf(1)).toMatchObject({ status: 'DELETED' });
    });

    it("an eviction through applyRemoteChanges is applied; the next read has the store's state", async () => {
      await apply([upsert(2, 'From the future', ts(Date.now() + 250_000))]);
      await rename(2, 'Renamed in the store');
      expect((await s.ok(APPLY, { events: [{ entityType: 'Employee', key: key(2), op: 'UPSERT' }] })).applyRemoteChanges).toMatchObject({
        evicted: 1,
      });
      expect(await ownerOf(2)).toMatchObject({ status: 'FRESH', entity: { name: 'Renamed in the store' } });
    });

    it('the sweep writes over it, and over any position a row holds (any clock, a clock set back)', async () => {
      await apply([upsert(3, 'From the future', binlog(Date.now() + 280_000))]);
      await rename(3, 'Swept');
      // A row whose positions came from anywhere: the feed's, all nines; its state dated a day ahead.
      await s.app.db.execute(
        `UPDATE remote_ref SET source_position = ?, source_clock = 'ts', state_at = '2999-01-01 00:00:00.000000' WHERE remote_hash_key = ?`,
        [`${'9'.repeat(20)}-${'9'.repeat(40)}-${'9'.repeat(24)}`, md5(JSON.stringify(key(4)))],
      );
      await rename(4, 'Swept too');
      await s.app.engine.maintenance.revalidate();
      expect(await ownerOf(3)).toMatchObject({ status: 'FRESH', entity: { name: 'Swept' } });
      expect(await ownerOf(4)).toMatchObject({ status: 'FRESH', entity: { name: 'Swept too' } });
    });

    it('beyond CHANGE_FEED_MAX_CLOCK_SKEW_SECONDS (or a ts_ms in microseconds) the event is refused with its reason', async () => {
      const before = await row(5);
      for (const position of [ts(Date.now() + 301_000), ts(Date.now() * 1000), binlog(Date.now() * 1000)]) {
        await expect(apply([upsert(5, 'Too far ahead', position)])).rejects.toMatchObject({
          code: 'BAD_USER_INPUT',
          message: expect.stringMatching(/ahead of now, more than CHANGE_FEED_MAX_CLOCK_SKEW_SECONDS \(300 s\)/),
        });
      }
      expect(await row(5)).toEqual(before);
    });

    it('fetched_at moves only for a row checked and written, not for one a newer state overtook', async () => {
      const before = await row(6);
      // An event ignored as older that says the same as the cache: no check, no date.
      await apply([upsert(6, employee(6).name, binlog(Date.now()))]);
      const taken = await row(6);
      await apply([
        {
          ...upsert(6, employee(6).name, null),
          position: debeziumPosition({ ts_ms: 1, file: 'mysql-bin.000001', pos: 1, row: 0 }, undefined, 1),
        },
      ]);
      expect((await row(6)).fetched_at).toBe(taken.fetched_at);
      expect(taken.fetched_at >= before.fetched_at).toBe(true);
    });
  });

  describe("finding 15: a refetch during the writer's transaction does not hide its event", () => {
    it("the event, dated at the statement's start, is applied although the read that saw the old state came later", async () => {
      // The row took the feed's events before (binlog positions): the writer's event comes after them.
      await apply([upsert(7, employee(7).name, binlog(Date.now() - 5000))]);
      const writer = await mysql.createConnection(s.clientUrl);
      try {
        await writer.query('START TRANSACTION');
        const startedMs = Math.floor(Date.now() / 1000) * 1000; // MySQL's ts_ms: the statement's start, in whole seconds
        await writer.query(`UPDATE employee SET name = 'Committed later' WHERE employee_id = 'e-7'`);
        // A read meanwhile (evicted row): it sees the old state, at a later clock reading.
        await s.ok(APPLY, { events: [{ entityType: 'Employee', key: key(7), op: 'UPSERT' }] });
        expect(await ownerOf(7)).toMatchObject({ status: 'FRESH', entity: { name: employee(7).name } });
        await writer.query('COMMIT');
        expect(await apply([upsert(7, 'Committed later', binlog(startedMs))])).toMatchObject({ refreshed: 1, ignored: 0 });
        // No sweep runs here: the event alone brings the row to the store's state.
        expect(await ownerOf(7)).toMatchObject({ status: 'FRESH', entity: { name: 'Committed later' } });
      } finally {
        await writer.end();
      }
    });

    it('an event ignored as older whose content differs from the cache is checked at the store', async () => {
      await apply([upsert(8, 'Newest event', binlog(Date.now()))]);
      await rename(8, 'What the store says');
      const older = debeziumPosition({ ts_ms: Date.now(), file: 'mysql-bin.000002', pos: 5, row: 0 }, undefined, 1);
      const checked = await countingRemote(s, () => apply([upsert(8, 'An older event', older)]));
      expect(checked.result).toMatchObject({ ignored: 1, checked: 1 });
      expect(checked.remote).toBe(1);
      expect(await ownerOf(8)).toMatchObject({ status: 'FRESH', entity: { name: 'What the store says' } });
      // one that says what the cache holds costs nothing
      const same = await countingRemote(s, () =>
        apply([{ ...upsert(8, '', older), entity: { employeeId: 'e-8', name: 'What the store says' } }]),
      );
      expect(same).toMatchObject({ result: { ignored: 1, checked: 0 }, remote: 0 });
    });
  });

  describe("finding 16: entities are checked against their type's columns on every path in", () => {
    it('applyRemoteChanges refuses a wrong shape, an oversized or missing value, an unknown field, with the reason', async () => {
      const before = await row(9);
      const bad: [unknown, RegExp][] = [
        [{ name: { nested: [1, 2, 3] }, email: 12345 }, /Employee\.name must be a string \(got an object\)/],
        [{ name: 'x'.repeat(201) }, /Employee\.name is longer than 200 characters/],
        [{ name: 'x'.repeat(4 * 1024 * 1024) }, /Employee\.name is longer than 200 characters/],
        [{ name: null }, /Employee\.name must not be null/],
        [{ email: 12345 }, /Employee\.email must be a string/],
        [{ salary: '1' }, /Employee has no field salary/],
        [['a'], /must be an object/],
      ];
      for (const [entity, reason] of bad) {
        const res = await s.gql(APPLY, { events: [{ entityType: 'Employee', key: key(9), op: 'UPSERT', entity }] });
        expect(codes(res)).toEqual(['BAD_USER_INPUT']);
        expect(res.errors![0].message).toMatch(reason);
      }
      expect(await row(9)).toEqual(before);
    });

    it('a cached copy that does not fit is never served: refetched, or MISSING with lastError while the store is down', async () => {
      const list = `{ deploymentIntentGroups(project: "rp", first: 100) { name owner { status lastError entity { name email } } } }`;
      for (const copy of [
        JSON.stringify({ employeeId: 'e-10', name: { nested: [1, 2, 3] }, email: 12345 }),
        JSON.stringify({ employeeId: 'e-10', name: 'x'.repeat(300) }),
        '{not json',
      ]) {
        await s.app.db.execute(`UPDATE remote_ref SET cached_entity = ? WHERE remote_hash_key = ?`, [copy, md5(JSON.stringify(key(10)))]);
        await execClientSql(s.clientUrl, EMPLOYEE_AWAY);
        try {
          const down = await s.gql(list);
          expect(down.errors).toBeUndefined();
          const g10 = (
            down.data!.deploymentIntentGroups as { name: string; owner: { status: string; lastError: string; entity: unknown } }[]
          ).find((g) => g.name === 'g10')!;
          expect(g10.owner).toMatchObject({ status: 'MISSING', entity: null, lastError: expect.any(String) });
          const entities = await s.gql(`query($r: [_Any!]!) { _entities(representations: $r) { ... on Employee { name } } }`, {
            r: [{ __typename: 'Employee', employeeId: 'e-10' }],
          });
          expect(codes(entities)).toEqual(['REMOTE_SOURCE_UNAVAILABLE']);
        } finally {
          await execClientSql(s.clientUrl, EMPLOYEE_BACK);
        }
        expect(await ownerOf(10)).toMatchObject({ status: 'FRESH', entity: { name: employee(10).name } });
      }
    });

    it('what a store answers that does not fit is refused: a read keeps the row MISSING, a save fails, the sweep stores nothing', async () => {
      await execClientSql(s.clientUrl, [
        `ALTER TABLE employee MODIFY name TEXT NOT NULL`,
        `UPDATE employee SET name = REPEAT('y', 300) WHERE employee_id = 'e-9'`,
      ]);
      try {
        await s.ok(APPLY, { events: [{ entityType: 'Employee', key: key(9), op: 'UPSERT' }] });
        expect(await ownerOf(9)).toMatchObject({
          status: 'MISSING',
          entity: null,
          lastError: expect.stringMatching(/does not fit its type: Employee\.name is longer than 200/),
        });
        await s.app.engine.maintenance.revalidate();
        expect((await row(9)).cached_entity).toBeNull();
        const res = await s.gql(
          `mutation { createDeploymentIntentGroup(input: { project: "rp", compositeApp: "shop", compositeProfile: "default", name: "g-long", owner: { employeeId: "e-9" } }) { id } }`,
        );
        // e-9 is cached (MISSING) already: linking needs no fetch. A key nobody cached is fetched and refused.
        expect(res.errors).toBeUndefined();
        await execClientSql(s.clientUrl, [`INSERT INTO employee (employee_id, name) VALUES ('e-long', REPEAT('z', 300))`]);
        const fresh = await s.gql(
          `mutation { createDeploymentIntentGroup(input: { project: "rp", compositeApp: "shop", compositeProfile: "default", name: "g-long2", owner: { employeeId: "e-long" } }) { id } }`,
        );
        expect(codes(fresh)).toEqual(['REMOTE_SOURCE_UNAVAILABLE']);
        expect(fresh.errors![0].message).toMatch(/does not fit its type/);
        // Read through (a key no document refers to): refused in its place, never served.
        const through = await s.gql(`query($r: [_Any!]!) { _entities(representations: $r) { ... on Employee { name } } }`, {
          r: [
            { __typename: 'Employee', employeeId: 'e-long' },
            { __typename: 'Employee', employeeId: 'e-11' },
          ],
        });
        expect(codes(through)).toEqual(['REMOTE_SOURCE_UNAVAILABLE']);
        expect(through.data).toEqual({ _entities: [null, { name: employee(11).name }] });
      } finally {
        await execClientSql(s.clientUrl, [
          `DELETE FROM employee WHERE employee_id = 'e-long'`,
          `UPDATE employee SET name = 'Restored' WHERE employee_id = 'e-9'`,
          `ALTER TABLE employee MODIFY name VARCHAR(200) NOT NULL`,
        ]);
      }
      await s.app.engine.maintenance.revalidate();
      expect(await ownerOf(9)).toMatchObject({ status: 'FRESH', entity: { name: 'Restored' } });
    });
  });
});
