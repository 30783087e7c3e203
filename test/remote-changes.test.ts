import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_EMPLOYEES, execClientSql, insertDemoClientRows } from '../src/remote/client-demo.js';
import { deleteOrphanRemoteRefs } from '../src/remote/orphans.js';
import { revalidateStale } from '../src/remote/revalidate.js';
import { codes, startTestServer, type TestServer } from './support/server.js';
import {
  ACCOUNT_FIELDS,
  OWNER_FIELDS,
  QUIET_ENV,
  STORE_COMBOS,
  countingRemote,
  createDomain,
  createGroups,
  linkedRef,
  md5,
  remoteRefRows,
  rowCount,
} from './support/remote-fixtures.js';

const APPLY = `mutation($events: [RemoteChangeInput!]!) { applyRemoteChanges(events: $events) { evicted refreshed markedDeleted ignored } }`;

const employee = (n: number) => DEMO_EMPLOYEES[n - 1];
const key = (n: number) => ({ employeeId: `e-${n}` });

describe.each(STORE_COMBOS)('remote changes, revalidation and orphans (operational %s, client %s)', (op, client) => {
  let s: TestServer;
  /** Group gN is owned by e-N. */
  const group: Record<number, string> = {};
  let projectId: string;
  beforeAll(async () => {
    s = await startTestServer(op, { client, env: QUIET_ENV });
    await createDomain(s);
    const owners = [1, 2, 3, 4, 5, 6, 7, 8];
    const ids = await createGroups(
      s,
      owners.map((n) => `g${n}`),
      owners.map((n) => `e-${n}`),
    );
    for (const [i, n] of owners.entries()) group[n] = ids[i];
    ({
      createProject: { id: projectId },
    } = await s.ok(`mutation { createProject(input: { name: "billed", billingAccount: { number: "ACC-1001", owner: "e-2" } }) { id } }`));
  });
  afterAll(async () => {
    await s?.close();
  });

  const apply = (events: unknown[]) => s.gql(APPLY, { events });
  const applied = async (events: unknown[]) => (await s.ok(APPLY, { events })).applyRemoteChanges;
  const ownerOf = async (n: number) =>
    (await s.ok(`query($id: ID!) { resource(id: $id) { ... on DeploymentIntentGroup { owner { ${OWNER_FIELDS} } } } }`, { id: group[n] }))
      .resource.owner;
  const cached = async (n: number) => {
    const [row] = await remoteRefRows(s, 'entity_type = ? AND remote_hash_key = ?', ['Employee', md5(JSON.stringify(key(n)))]);
    return row;
  };

  it('refreshes the cached copy from an UPSERT with the entity; the read needs no remote query', async () => {
    const result = await applied([
      { entityType: 'Employee', key: key(1), op: 'UPSERT', entity: { ...employee(1), name: 'Ada King', department: 'Mathematics' } },
    ]);
    expect(result).toEqual({ evicted: 0, refreshed: 1, markedDeleted: 0, ignored: 0 });
    const { result: owner, remote } = await countingRemote(s, () => ownerOf(1));
    expect(remote).toBe(0);
    expect(owner).toMatchObject({
      status: 'FRESH',
      entity: { employeeId: 'e-1', name: 'Ada King', department: 'Mathematics', email: employee(1).email },
    });
  });

  it('merges a partial UPSERT into the cached copy; with no copy to complete it evicts instead', async () => {
    const partial = await applied([{ entityType: 'Employee', key: key(7), op: 'UPSERT', entity: { department: 'Moon landing' } }]);
    expect(partial).toEqual({ evicted: 0, refreshed: 1, markedDeleted: 0, ignored: 0 });
    const owner = await ownerOf(7);
    expect(owner).toMatchObject({ status: 'FRESH', entity: { employeeId: 'e-7', name: employee(7).name, department: 'Moon landing' } });
    await applied([{ entityType: 'Employee', key: key(8), op: 'UPSERT' }]);
    const noCopy = await applied([{ entityType: 'Employee', key: key(8), op: 'UPSERT', entity: { department: 'x' } }]);
    expect(noCopy).toEqual({ evicted: 1, refreshed: 0, markedDeleted: 0, ignored: 0 });
    const refetched = await ownerOf(8);
    expect(refetched).toMatchObject({ status: 'FRESH', entity: { name: employee(8).name, department: employee(8).department } });
  });

  it('refreshes a composite key', async () => {
    const result = await applied([
      {
        entityType: 'BankAccount',
        key: { owner: 'e-2', number: 'ACC-1001' },
        op: 'UPSERT',
        entity: { number: 'ACC-1001', owner: 'e-2', bank: 'New Bank', currency: 'CHF' },
      },
    ]);
    expect(result.refreshed).toBe(1);
    const { result: data, remote } = await countingRemote(s, () =>
      s.ok(`query($id: ID!) { resource(id: $id) { ... on Project { billingAccount { ${ACCOUNT_FIELDS} } } } }`, { id: projectId }),
    );
    expect(remote).toBe(0);
    expect(data.resource.billingAccount).toMatchObject({
      status: 'FRESH',
      entity: { number: 'ACC-1001', owner: 'e-2', bank: 'New Bank', currency: 'CHF' },
    });
  });

  it('evicts on an UPSERT without the entity; the next read refetches from the store', async () => {
    const result = await applied([{ entityType: 'Employee', key: key(2), op: 'UPSERT' }]);
    expect(result).toEqual({ evicted: 1, refreshed: 0, markedDeleted: 0, ignored: 0 });
    expect((await cached(2)).cached_entity).toBeNull();
    const { result: owner, remote } = await countingRemote(s, () => ownerOf(2));
    expect(remote).toBe(1);
    expect(owner).toMatchObject({ status: 'FRESH', entity: { employeeId: 'e-2', name: employee(2).name } });
    expect(JSON.parse((await cached(2)).cached_entity!)).toMatchObject({ name: employee(2).name });
    const again = await countingRemote(s, () => ownerOf(2));
    expect(again.remote).toBe(0);
  });

  it('marks deleted on DELETE and keeps the last copy', async () => {
    const result = await applied([{ entityType: 'Employee', key: key(3), op: 'DELETE' }]);
    expect(result).toEqual({ evicted: 0, refreshed: 0, markedDeleted: 1, ignored: 0 });
    const { result: owner, remote } = await countingRemote(s, () => ownerOf(3));
    expect(remote).toBe(0);
    expect(owner).toMatchObject({ status: 'DELETED', key: key(3), entity: { employeeId: 'e-3', name: employee(3).name } });
    expect(Number((await cached(3)).deleted)).toBe(1);
  });

  it('ignores events for keys nobody references', async () => {
    const before = await rowCount(s, 'remote_ref');
    const result = await applied([
      { entityType: 'Employee', key: key(19), op: 'UPSERT', entity: { employeeId: 'e-19', name: 'Nobody' } },
      { entityType: 'Employee', key: key(20), op: 'DELETE' },
      { entityType: 'BankAccount', key: { number: 'ACC-9999', owner: 'e-1' }, op: 'UPSERT' },
    ]);
    expect(result).toEqual({ evicted: 0, refreshed: 0, markedDeleted: 0, ignored: 3 });
    expect(await rowCount(s, 'remote_ref')).toBe(before);
  });

  it('ignores an event id already applied, in a later call and in the same call', async () => {
    const first = await applied([
      { entityType: 'Employee', key: key(4), op: 'UPSERT', entity: { employeeId: 'e-4', name: 'First' }, eventId: 'evt-1' },
    ]);
    expect(first).toEqual({ evicted: 0, refreshed: 1, markedDeleted: 0, ignored: 0 });
    const second = await applied([
      { entityType: 'Employee', key: key(4), op: 'UPSERT', entity: { employeeId: 'e-4', name: 'Second' }, eventId: 'evt-1' },
    ]);
    expect(second).toEqual({ evicted: 0, refreshed: 0, markedDeleted: 0, ignored: 1 });
    expect((await ownerOf(4)).entity.name).toBe('First');
    const same = await applied([
      { entityType: 'Employee', key: key(4), op: 'UPSERT', entity: { employeeId: 'e-4', name: 'Third' }, eventId: 'evt-2' },
      { entityType: 'Employee', key: key(4), op: 'DELETE', eventId: 'evt-2' },
    ]);
    expect(same).toEqual({ evicted: 0, refreshed: 1, markedDeleted: 0, ignored: 1 });
    expect(await ownerOf(4)).toMatchObject({ status: 'FRESH', entity: { name: 'Third' } });
    // restore the store's copy for the tests after this one
    await applied([{ entityType: 'Employee', key: key(4), op: 'UPSERT' }]);
  });

  describe('refuses a bad batch with BAD_USER_INPUT and applies none of it', () => {
    const good = {
      entityType: 'Employee',
      key: key(5),
      op: 'UPSERT',
      entity: { employeeId: 'e-5', name: 'Should Not Apply' },
      eventId: 'evt-good',
    };
    it.each([
      ['an unknown entity type', { entityType: 'Planet', key: { name: 'x' }, op: 'DELETE' }, 'Planet'],
      ['a key missing its field', { entityType: 'Employee', key: {}, op: 'DELETE' }, 'key'],
      ['a key with an unknown field', { entityType: 'Employee', key: { employeeId: 'e-5', extra: '1' }, op: 'DELETE' }, 'key'],
      ['a key that is not an object', { entityType: 'Employee', key: 'e-5', op: 'DELETE' }, 'key'],
      ['a composite key missing a field', { entityType: 'BankAccount', key: { number: 'ACC-1001' }, op: 'DELETE' }, 'key'],
      ['an entity that is not an object', { entityType: 'Employee', key: key(5), op: 'UPSERT', entity: [1, 2] }, 'entity'],
    ])('%s', async (_, bad, word) => {
      const before = JSON.stringify(await remoteRefRows(s));
      const res = await apply([good, bad]);
      expect(codes(res)).toEqual(['BAD_USER_INPUT']);
      expect(res.errors![0].message).toContain(word);
      expect(res.errors![0].message).toContain('events[1]');
      expect(JSON.stringify(await remoteRefRows(s))).toBe(before);
      expect(await rowCount(s, 'applied_event', 'event_id = ?', ['evt-good'])).toBe(0);
      expect((await ownerOf(5)).entity.name).toBe(employee(5).name);
    });

    it('more than 1000 events', async () => {
      const before = JSON.stringify(await remoteRefRows(s));
      const events = [
        good,
        ...Array.from({ length: 1000 }, (_, i) => ({ entityType: 'Employee', key: { employeeId: `z-${i}` }, op: 'DELETE' })),
      ];
      const res = await apply(events);
      expect(codes(res)).toEqual(['BAD_USER_INPUT']);
      expect(res.errors![0].message).toContain('1000');
      expect(JSON.stringify(await remoteRefRows(s))).toBe(before);
      expect(await rowCount(s, 'applied_event', 'event_id = ?', ['evt-good'])).toBe(0);
      // exactly 1000 is allowed
      const ok = await applied(events.slice(1));
      expect(ok.ignored).toBe(1000);
    });

    it('an unknown op (GraphQL refuses it)', async () => {
      const res = await apply([good, { entityType: 'Employee', key: key(5), op: 'MERGE' }]);
      expect(res.errors?.length).toBeGreaterThan(0);
      expect(await rowCount(s, 'applied_event', 'event_id = ?', ['evt-good'])).toBe(0);
      // the good event alone still applies: it was not recorded by the refused calls
      expect((await applied([good])).refreshed).toBe(1);
      expect((await ownerOf(5)).entity.name).toBe('Should Not Apply');
      await applied([{ entityType: 'Employee', key: key(5), op: 'UPSERT' }]);
    });
  });

  it("revalidation refreshes a copy changed in the store behind the subgraph's back, and marks a removed one deleted", async () => {
    // fill the cache, then change the store behind its back: the cache does not know yet
    expect((await ownerOf(5)).entity.name).toBe(employee(5).name);
    await execClientSql(s.clientUrl, [`UPDATE employee SET name = 'Barbara H. Liskov' WHERE employee_id = 'e-5'`]);
    expect((await ownerOf(5)).entity.name).toBe(employee(5).name);
    const report = await revalidateStale(s.app.engine.remote, { olderThanSeconds: 0 });
    expect(report.failed).toBe(0);
    expect(report.refreshed).toBeGreaterThanOrEqual(1);
    expect(report.markedDeleted).toBe(0);
    const { result: owner, remote } = await countingRemote(s, () => ownerOf(5));
    expect(remote).toBe(0);
    expect(owner).toMatchObject({ status: 'FRESH', entity: { name: 'Barbara H. Liskov' } });
    // a row a change event flagged deleted, whose key the store still has, heals
    expect(await ownerOf(3)).toMatchObject({ status: 'FRESH', lastError: null, entity: { employeeId: 'e-3' } });

    await execClientSql(s.clientUrl, [`DELETE FROM employee WHERE employee_id = 'e-6'`]);
    const report2 = await revalidateStale(s.app.engine.remote, { olderThanSeconds: 0 });
    expect(report2.markedDeleted).toBe(1);
    expect(await ownerOf(6)).toMatchObject({ status: 'DELETED', entity: { employeeId: 'e-6', name: employee(6).name } });
    expect((await ownerOf(6)).lastError).toMatch(/no longer exists/);
    expect((await ownerOf(7)).status).toBe('FRESH');

    // nothing is older than an hour: nothing to do
    const report3 = await revalidateStale(s.app.engine.remote, { olderThanSeconds: 3600 });
    expect(report3).toEqual({ checked: 0, refreshed: 0, markedDeleted: 0, failed: 0 });
    await insertDemoClientRows(s.clientUrl, { employees: [employee(6)] });
  });

  it('forgets applied event ids older than their retention (its own job, whatever GC_INTERVAL_SECONDS says)', async () => {
    await s.app.db.execute(`INSERT INTO applied_event (event_id, applied_at) VALUES ('evt-ancient', '2000-01-01 00:00:00.000000')`);
    await applied([{ entityType: 'Employee', key: key(4), op: 'UPSERT', entity: employee(4), eventId: 'evt-recent' }]);
    expect(await s.app.engine.maintenance.forgetAppliedEvents()).toBeGreaterThanOrEqual(1);
    expect(await rowCount(s, 'applied_event', 'event_id = ?', ['evt-ancient'])).toBe(0);
    expect(await rowCount(s, 'applied_event', 'event_id = ?', ['evt-recent'])).toBe(1);
  });

  it('deletes remote_ref rows nobody links to and keeps linked ones', async () => {
    const g8Ref = await linkedRef(s, group[8], 'owner');
    expect(g8Ref).not.toBeNull();
    await s.ok(`mutation($id: ID!) { updateDeploymentIntentGroup(id: $id, input: { owner: null }) { owner { id } } }`, { id: group[8] });
    expect(await rowCount(s, 'remote_ref', 'id = ?', [g8Ref])).toBe(1);
    const linked = (
      await s.app.db.query<{ id: string }>(`SELECT DISTINCT remote_ref_id AS id FROM remote_link ORDER BY remote_ref_id`)
    ).map((r) => r.id);
    const orphans = (await remoteRefRows(s)).map((r) => r.id).filter((id) => !linked.includes(id));
    expect(orphans).toContain(g8Ref);

    const deleted = await deleteOrphanRemoteRefs(s.app.db);
    expect(deleted).toBe(orphans.length);
    expect((await remoteRefRows(s)).map((r) => r.id).sort()).toEqual([...linked].sort());
    expect(await deleteOrphanRemoteRefs(s.app.db)).toBe(0);
    // the links still read
    expect((await ownerOf(7)).entity.name).toBe(employee(7).name);

    // naming the key again fetches it and makes a new row
    const { result, remote } = await countingRemote(s, () =>
      s.ok(
        `mutation($id: ID!) { updateDeploymentIntentGroup(id: $id, input: { owner: { employeeId: "e-8" } }) { owner { id status entity { name } } } }`,
        {
          id: group[8],
        },
      ),
    );
    expect(remote).toBe(2); // read before the transaction, and after it (remote-save-races.test.ts)
    expect(result.updateDeploymentIntentGroup.owner).toMatchObject({ status: 'FRESH', entity: { name: employee(8).name } });
    expect(result.updateDeploymentIntentGroup.owner.id).not.toBe(g8Ref);
  });
});
