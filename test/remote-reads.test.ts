import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_EMPLOYEES, execClientSql, insertDemoClientRows, type DemoEmployee } from '../src/remote/client-demo.js';
import { codes, startTestServer, type TestServer } from './support/server.js';
import {
  DOMAIN,
  EMPLOYEE_AWAY,
  EMPLOYEE_BACK,
  OWNER_FIELDS,
  QUIET_ENV,
  STORE_COMBOS,
  countingRemote,
  createDomain,
  createGroups,
  evictAll,
  md5,
  remoteQueries,
  remoteRefRows,
  until,
} from './support/remote-fixtures.js';

const listGroups = (first: number, project: string = DOMAIN.project) => `{
  deploymentIntentGroups(project: "${project}", first: ${first}) {
    id name logicalCluster { name } clusters(first: 10) { name provider { name } }
    owner { ${OWNER_FIELDS} }
  }
}`;

const listGroupsAndProjects = (first: number) => `{
  deploymentIntentGroups(project: "${DOMAIN.project}", first: ${first}) { id name owner { status entity { name } } }
  projects(first: 10) { name billingAccount { status entity { bank } } }
}`;

const GROUPS = 60;
const ownerOf = (i: number) => DEMO_EMPLOYEES[i % DEMO_EMPLOYEES.length];

/** Runs a read and counts both the operational statements and the remote queries it caused. */
async function measured(s: TestServer, query: string) {
  const { result, remote, queries } = await countingRemote(s, () => s.countedGql(query));
  expect(result.res.errors).toBeUndefined();
  return { data: result.res.data as Record<string, any>, statements: result.statements.length, remote, queries };
}

describe.each(STORE_COMBOS)('reading remote references (operational %s, client %s)', (op, client) => {
  let s: TestServer;
  let ids: string[];
  beforeAll(async () => {
    s = await startTestServer(op, { client, env: QUIET_ENV });
    await createDomain(s);
    const names = Array.from({ length: GROUPS }, (_, i) => `g${String(i).padStart(3, '0')}`);
    ids = await createGroups(
      s,
      names,
      names.map((_, i) => ownerOf(i).employeeId),
    );
    await s.ok(`mutation {
      a: createProject(input: { name: "billed-a", billingAccount: { number: "ACC-1001", owner: "e-1" } }) { id }
      b: createProject(input: { name: "billed-b", billingAccount: { number: "ACC-2001", owner: "e-3" } }) { id }
    }`);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('reads owners from a warm cache with no remote query, in statements that do not grow with the list', async () => {
    const small = await measured(s, listGroups(10));
    const large = await measured(s, listGroups(GROUPS));
    expect(small.data.deploymentIntentGroups).toHaveLength(10);
    expect(large.data.deploymentIntentGroups).toHaveLength(GROUPS);
    expect(small.remote).toBe(0);
    expect(large.remote).toBe(0);
    expect(large.statements).toBe(small.statements);
    expect(large.statements).toBeLessThanOrEqual(8);
    for (const [i, g] of large.data.deploymentIntentGroups.entries()) {
      const e = ownerOf(i);
      expect(g.id).toBe(ids[i]);
      expect(g.owner).toMatchObject({
        entityType: 'Employee',
        status: 'FRESH',
        key: { employeeId: e.employeeId },
        hashKey: md5(`{"employeeId":"${e.employeeId}"}`),
        lastError: null,
        entity: { employeeId: e.employeeId, name: e.name, email: e.email, department: e.department },
      });
      expect(g.owner.fetchedAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    }
    // groups that share an owner share its remote_ref row
    const byKey = new Map<string, Set<string>>();
    for (const g of large.data.deploymentIntentGroups)
      byKey.set(g.owner.hashKey, (byKey.get(g.owner.hashKey) ?? new Set()).add(g.owner.id));
    expect(byKey.size).toBe(DEMO_EMPLOYEES.length);
    for (const set of byKey.values()) expect(set.size).toBe(1);
  });

  it('refetches an evicted cache with one remote query per entity type, and refills it', async () => {
    await evictAll(s);
    const cold = await measured(s, listGroupsAndProjects(GROUPS));
    expect(cold.remote).toBe(2);
    expect(cold.queries.filter((q) => /employee/i.test(q))).toHaveLength(1);
    expect(cold.queries.filter((q) => /bank_account/i.test(q))).toHaveLength(1);
    expect(cold.data.deploymentIntentGroups.every((g: any) => g.owner.status === 'FRESH')).toBe(true);
    expect(cold.data.deploymentIntentGroups[0].owner.entity.name).toBe(ownerOf(0).name);
    expect(cold.data.projects.find((p: any) => p.name === 'billed-a').billingAccount).toEqual({
      status: 'FRESH',
      entity: { bank: 'First Analytical Bank' },
    });
    expect((await remoteRefRows(s)).every((r) => r.cached_entity !== null)).toBe(true);

    const warm = await measured(s, listGroupsAndProjects(GROUPS));
    expect(warm.remote).toBe(0);
    expect(warm.data).toEqual(cold.data);
    expect(warm.statements).toBeLessThan(cold.statements);
  });

  it('keeps cold-read statements constant as the list grows', async () => {
    await evictAll(s);
    const small = await measured(s, listGroups(10));
    await evictAll(s);
    const large = await measured(s, listGroups(GROUPS));
    expect(small.remote).toBe(1);
    expect(large.remote).toBe(1);
    expect(large.statements).toBe(small.statements);
  });

  it('answers MISSING with lastError when the store is away, and the rest of the response still resolves', async () => {
    await evictAll(s);
    await execClientSql(s.clientUrl, EMPLOYEE_AWAY);
    // The store comes back whatever the request does, before any assertion can fail.
    const res = await s.gql(listGroups(GROUPS)).finally(() => execClientSql(s.clientUrl, EMPLOYEE_BACK));
    expect(res.errors).toBeUndefined();
    const groups = res.data!.deploymentIntentGroups;
    expect(groups).toHaveLength(GROUPS);
    for (const [i, g] of groups.entries()) {
      expect(g.name).toBe(`g${String(i).padStart(3, '0')}`);
      expect(g.logicalCluster).toEqual({ name: DOMAIN.lc });
      expect(g.clusters).toEqual([
        { name: 'c1', provider: { name: DOMAIN.provider } },
        { name: 'c2', provider: { name: DOMAIN.provider } },
      ]);
      expect(g.owner).toMatchObject({ status: 'MISSING', entity: null, key: { employeeId: ownerOf(i).employeeId } });
      expect(g.owner.lastError).toEqual(expect.stringMatching(/\S/));
      expect(g.owner.lastError).toMatch(/unavailable/i);
    }
    // the failure is remembered on the rows
    expect((await remoteRefRows(s, 'entity_type = ?', ['Employee'])).every((r) => r.last_error)).toBe(true);

    // back: the next read refetches and clears the error
    const { data, remote } = await measured(s, listGroups(GROUPS));
    expect(remote).toBe(1);
    expect(data.deploymentIntentGroups.every((g: any) => g.owner.status === 'FRESH' && g.owner.lastError === null && g.owner.entity)).toBe(
      true,
    );
  });

  it('returns an EmployeeRef or BankAccountRef by id', async () => {
    const {
      deploymentIntentGroups: [g],
    } = await s.ok(`{ deploymentIntentGroups(project: "${DOMAIN.project}", first: 1) { owner { id } } }`);
    const { project } = await s.ok(`{ project(name: "billed-b") { billingAccount { id } } }`);
    const q = `query($id: ID!) { remoteReference(id: $id) {
      __typename id entityType key hashKey status fetchedAt lastError
      ... on EmployeeRef { entity { employeeId name } }
      ... on BankAccountRef { entity { number owner bank currency } }
    } }`;
    const { remoteReference: emp } = await s.ok(q, { id: g.owner.id });
    expect(emp).toMatchObject({
      __typename: 'EmployeeRef',
      id: g.owner.id,
      entityType: 'Employee',
      key: { employeeId: 'e-1' },
      hashKey: md5('{"employeeId":"e-1"}'),
      status: 'FRESH',
      entity: { employeeId: 'e-1', name: DEMO_EMPLOYEES[0].name },
    });
    const { remoteReference: acc } = await s.ok(q, { id: project.billingAccount.id });
    expect(acc).toMatchObject({
      __typename: 'BankAccountRef',
      entityType: 'BankAccount',
      key: { number: 'ACC-2001', owner: 'e-3' },
      hashKey: md5('{"number":"ACC-2001","owner":"e-3"}'),
      entity: { number: 'ACC-2001', owner: 'e-3', bank: 'Compiler Credit Union', currency: 'USD' },
    });
    // an evicted one is refetched on the way
    await evictAll(s);
    const { result, remote } = await countingRemote(s, () => s.ok(q, { id: project.billingAccount.id }));
    expect(remote).toBe(1);
    expect(result.remoteReference.entity.bank).toBe('Compiler Credit Union');
    expect((await s.ok(q, { id: 'no-such-id' })).remoteReference).toBeNull();
    await s.ok(listGroups(GROUPS)); // refill the employees for the tests after this one
  });

  it('pages through the employee store in key order', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const { employees }: { employees: { employeeId: string }[] } = await s.ok(
        `query($after: ID) { employees(first: 7, after: $after) { employeeId name email department } }`,
        { after },
      );
      if (!employees.length) break;
      expect(employees.length).toBeLessThanOrEqual(7);
      seen.push(...employees.map((e) => e.employeeId));
      after = employees[employees.length - 1].employeeId;
    }
    expect(seen).toHaveLength(DEMO_EMPLOYEES.length);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual(DEMO_EMPLOYEES.map((e) => e.employeeId).sort());
    expect(seen).toEqual([...seen].sort());
    const { employees: all } = await s.ok(`{ employees(first: 1000) { employeeId name email department } }`);
    expect(all.map((e: any) => e.employeeId)).toEqual(seen);
    expect(all.find((e: any) => e.employeeId === 'e-20')).toEqual({
      employeeId: 'e-20',
      name: 'Katherine Johnson',
      email: null,
      department: null,
    });
    const { employees: two } = await s.ok(`{ employees(first: 2) { employeeId } }`);
    expect(two.map((e: any) => e.employeeId)).toEqual(seen.slice(0, 2));
  });

  it('refuses employees(first: 1001) with BAD_USER_INPUT', async () => {
    const res = await s.gql(`{ employees(first: 1001) { employeeId } }`);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors![0].message).toContain('first');
  });

  it("shows DELETED for a key deleted from the store behind the subgraph's back", async () => {
    await execClientSql(s.clientUrl, [`DELETE FROM employee WHERE employee_id = 'e-5'`]);
    await evictAll(s);
    const { data, remote } = await measured(s, listGroups(GROUPS));
    expect(remote).toBe(1);
    for (const [i, g] of data.deploymentIntentGroups.entries()) {
      if (ownerOf(i).employeeId === 'e-5') {
        expect(g.owner).toMatchObject({ status: 'DELETED', key: { employeeId: 'e-5' } });
        expect(g.owner.lastError).toMatch(/no longer exists/);
      } else {
        expect(g.owner.status).toBe('FRESH');
      }
    }
    const [row] = await remoteRefRows(s, 'remote_hash_key = ?', [md5('{"employeeId":"e-5"}')]);
    expect(Number(row.deleted)).toBe(1);
    // a deleted row is not asked for again on every read
    const again = await measured(s, listGroups(GROUPS));
    expect(again.remote).toBe(0);
    expect(again.data.deploymentIntentGroups.filter((g: any) => g.owner.status === 'DELETED')).toHaveLength(GROUPS / DEMO_EMPLOYEES.length);
  });
});

describe('reading more keys than one chunk (operational sqlite, client sqlite)', () => {
  const EXTRA = 520;
  const extra: DemoEmployee[] = Array.from({ length: EXTRA }, (_, i) => ({
    employeeId: `x-${String(i).padStart(4, '0')}`,
    name: `Extra ${i}`,
    email: null,
    department: 'Bulk',
  }));
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite', { env: QUIET_ENV });
    await insertDemoClientRows(s.clientUrl, { employees: extra });
    await createDomain(s);
    await createGroups(
      s,
      extra.map((e) => `b${e.employeeId}`),
      extra.map((e) => e.employeeId),
    );
  });
  afterAll(async () => {
    await s?.close();
  });

  it('sends one remote query per 500 keys and refills all of them', async () => {
    await evictAll(s);
    const cold = await measured(s, listGroups(EXTRA));
    expect(cold.data.deploymentIntentGroups).toHaveLength(EXTRA);
    expect(cold.remote).toBe(2);
    expect(cold.data.deploymentIntentGroups.every((g: any) => g.owner.status === 'FRESH' && g.owner.entity.department === 'Bulk')).toBe(
      true,
    );
    const warm = await measured(s, listGroups(EXTRA));
    expect(warm.remote).toBe(0);
    expect(warm.data).toEqual(cold.data);
  });
});

/** The breaker lives in the client source: every client store, and the operational store both ways. */
const BREAKER_COMBOS = STORE_COMBOS.filter(([op, client]) => op === 'sqlite' || client === 'mariadb');

describe.each(BREAKER_COMBOS)('reading through a circuit breaker (operational %s, client %s)', (op, client) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(op, {
      client,
      env: {
        ...QUIET_ENV,
        REMOTE_BREAKER_THRESHOLD: '2',
        REMOTE_BREAKER_HALF_OPEN_MS: '300',
        REMOTE_RETRIES: '0',
        REMOTE_TIMEOUT_MS: '5000',
      },
    });
    await createDomain(s);
    await createGroups(s, ['g1', 'g2', 'g3'], ['e-1', 'e-2', 'e-3']);
  });
  afterAll(async () => {
    await s?.close();
  });

  const read = async () => {
    const res = await s.gql(listGroups(10));
    expect(res.errors).toBeUndefined();
    return res.data!.deploymentIntentGroups as any[];
  };

  it('fails fast once the breaker is open and recovers through a half-open probe when the store is back', async () => {
    const counter = remoteQueries(s);
    try {
      await execClientSql(s.clientUrl, EMPLOYEE_AWAY);
      let back = false;
      try {
        await evictAll(s);
        // two failing reads open the breaker: each sends its query and fails
        for (let i = 0; i < 2; i++) {
          const groups = await read();
          expect(groups.map((g) => g.owner.status)).toEqual(['MISSING', 'MISSING', 'MISSING']);
          expect(groups[0].owner.lastError).toMatch(/unavailable/i);
        }
        expect(counter.count).toBe(2);
        // open: further reads send nothing and say so
        for (let i = 0; i < 3; i++) {
          const groups = await read();
          expect(groups.every((g) => g.owner.status === 'MISSING' && g.owner.entity === null)).toBe(true);
          expect(groups[0].owner.lastError).toMatch(/circuit/i);
          expect(groups.map((g) => g.name)).toEqual(['g1', 'g2', 'g3']);
        }
        expect(counter.count).toBe(2);

        await execClientSql(s.clientUrl, EMPLOYEE_BACK);
        back = true;
        const groups = await until(
          'the owners to be FRESH again',
          async () => {
            const g = await read();
            return g.every((x) => x.owner.status === 'FRESH') ? g : null;
          },
          20_000,
          25,
        );
        expect(groups.map((g) => g.owner.entity.name)).toEqual(DEMO_EMPLOYEES.slice(0, 3).map((e) => e.name));
        expect(groups.every((g) => g.owner.lastError === null)).toBe(true);
        // the probe that closed the breaker was one query; the cache is full again
        const before = counter.count;
        expect(before).toBeGreaterThanOrEqual(3);
        await read();
        expect(counter.count).toBe(before);
      } finally {
        if (!back) await execClientSql(s.clientUrl, EMPLOYEE_BACK);
      }
    } finally {
      counter.stop();
    }
  });
});
