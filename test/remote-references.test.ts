import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_EMPLOYEES, execClientSql } from '../src/remote/client-demo.js';
import { codes, startTestServer, type TestServer } from './support/server.js';
import { OPERATIONAL_KINDS } from './support/stores.js';
import {
  ACCOUNT_FIELDS,
  DOMAIN,
  EMPLOYEE_AWAY,
  EMPLOYEE_BACK,
  OWNER_FIELDS,
  QUIET_ENV,
  STORE_COMBOS,
  closedPort,
  countingRemote,
  createDomain,
  groupInput,
  linkedRef,
  md5,
  remoteRefRows,
  rowCount,
  writeFootprint,
} from './support/remote-fixtures.js';

const createGroup = (name: string, extra = '') =>
  `mutation { createDeploymentIntentGroup(input: ${groupInput(name, extra)}) { id name owner { ${OWNER_FIELDS} } } }`;

describe.each(STORE_COMBOS)('saving remote references (operational %s, client %s)', (op, client) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(op, { client, env: QUIET_ENV });
    await createDomain(s);
  });
  afterAll(async () => {
    await s?.close();
  });

  let g1: any;
  it('saves a single-field key: one remote_ref row, linked, with the canonical hash and the key', async () => {
    const { result, remote } = await countingRemote(s, () => s.ok(createGroup('g1', 'owner: { employeeId: "e-3" }')));
    g1 = result.createDeploymentIntentGroup;
    // the key was new: asked the store, and once more after the commit (a change event that came
    // before the row existed found nothing to apply: remote-save-races.test.ts)
    expect(remote).toBe(2);
    const e3 = DEMO_EMPLOYEES[2];
    expect(g1.owner).toMatchObject({
      entityType: 'Employee',
      status: 'FRESH',
      hashKey: md5('{"employeeId":"e-3"}'),
      key: { employeeId: 'e-3' },
      lastError: null,
      entity: { employeeId: 'e-3', name: e3.name, email: e3.email, department: e3.department },
    });
    expect(g1.owner.hashKey).toMatch(/^[0-9a-f]{32}$/);
    expect(Date.parse(g1.owner.fetchedAt)).not.toBeNaN();
    const rows = await remoteRefRows(s);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: g1.owner.id, entity_type: 'Employee', remote_hash_key: md5('{"employeeId":"e-3"}') });
    expect(JSON.parse(rows[0].remote_key_payload)).toEqual({ employeeId: 'e-3' });
    expect(JSON.parse(rows[0].cached_entity!)).toMatchObject({ employeeId: 'e-3', name: e3.name });
    expect(Number(rows[0].deleted)).toBe(0);
    expect(await linkedRef(s, g1.id, 'owner')).toBe(g1.owner.id);
  });

  it('saves a composite key: hash of the fields sorted by name, key with both fields', async () => {
    const { result, remote } = await countingRemote(s, () =>
      s.ok(
        `mutation { createProject(input: { name: "billed", billingAccount: { owner: "e-2", number: "ACC-1001" } }) { id billingAccount { ${ACCOUNT_FIELDS} } } }`,
      ),
    );
    const p = result.createProject;
    expect(remote).toBe(2); // a new key: read before the transaction and after it
    expect(p.billingAccount).toMatchObject({
      entityType: 'BankAccount',
      status: 'FRESH',
      hashKey: md5('{"number":"ACC-1001","owner":"e-2"}'),
      key: { number: 'ACC-1001', owner: 'e-2' },
      entity: { number: 'ACC-1001', owner: 'e-2', bank: 'First Analytical Bank', currency: 'EUR' },
    });
    // the other owner of the same account number is another entity
    expect(p.billingAccount.hashKey).not.toBe(md5('{"number":"ACC-1001","owner":"e-1"}'));
    const [row] = await remoteRefRows(s, 'entity_type = ?', ['BankAccount']);
    expect(row.id).toBe(p.billingAccount.id);
    expect(JSON.parse(row.remote_key_payload)).toEqual({ number: 'ACC-1001', owner: 'e-2' });
    expect(await linkedRef(s, p.id, 'billingAccount')).toBe(p.billingAccount.id);
  });

  it('links a second document naming the same key to the same row, without a remote query', async () => {
    const before = await rowCount(s, 'remote_ref');
    const { result, remote } = await countingRemote(s, () =>
      s.ok(`mutation {
        a: createDeploymentIntentGroup(input: ${groupInput('g2', 'owner: { employeeId: "e-3" }')}) { id owner { id hashKey entity { name } } }
        b: createProject(input: { name: "billed2", billingAccount: { number: "ACC-1001", owner: "e-2" } }) { id billingAccount { id hashKey } }
      }`),
    );
    expect(remote).toBe(0);
    expect(result.a.owner).toMatchObject({
      id: g1.owner.id,
      hashKey: md5('{"employeeId":"e-3"}'),
      entity: { name: DEMO_EMPLOYEES[2].name },
    });
    const [account] = await remoteRefRows(s, 'entity_type = ?', ['BankAccount']);
    expect(result.b.billingAccount.id).toBe(account.id);
    expect(await rowCount(s, 'remote_ref')).toBe(before);
    expect(await rowCount(s, 'remote_ref', 'remote_hash_key = ?', [md5('{"employeeId":"e-3"}')])).toBe(1);
    expect(await rowCount(s, 'remote_link', 'remote_ref_id = ?', [g1.owner.id])).toBe(2);
    expect(await linkedRef(s, result.a.id, 'owner')).toBe(g1.owner.id);
  });

  it('links a cached key even while the store is away (no remote call is needed)', async () => {
    await execClientSql(s.clientUrl, EMPLOYEE_AWAY);
    try {
      const { result, remote } = await countingRemote(s, () => s.ok(createGroup('g-away', 'owner: { employeeId: "e-3" }')));
      expect(remote).toBe(0);
      expect(result.createDeploymentIntentGroup.owner).toMatchObject({ id: g1.owner.id, status: 'FRESH' });
    } finally {
      await execClientSql(s.clientUrl, EMPLOYEE_BACK);
    }
  });

  it('refuses a key the store does not have with REMOTE_ENTITY_NOT_FOUND, storing nothing', async () => {
    const before = await writeFootprint(s);
    const res = await s.gql(createGroup('g-ghost', 'owner: { employeeId: "e-999" }'));
    expect(codes(res)).toEqual(['REMOTE_ENTITY_NOT_FOUND']);
    expect(res.errors![0].message).toContain('e-999');
    expect(res.data).toBeNull();
    const res2 = await s.gql(
      `mutation { createProject(input: { name: "ghostly", billingAccount: { number: "ACC-1001", owner: "e-3" } }) { id } }`,
    );
    expect(codes(res2)).toEqual(['REMOTE_ENTITY_NOT_FOUND']);
    expect(res2.errors![0].message).toContain('ACC-1001');
    expect(await writeFootprint(s)).toEqual(before);
    expect(await rowCount(s, 'resource', 'name = ?', ['g-ghost'])).toBe(0);
  });

  it('refuses a new key while the store is away with REMOTE_SOURCE_UNAVAILABLE, storing nothing', async () => {
    const before = await writeFootprint(s);
    await execClientSql(s.clientUrl, EMPLOYEE_AWAY);
    try {
      const res = await s.gql(createGroup('g-down', 'owner: { employeeId: "e-4" }'));
      expect(codes(res)).toEqual(['REMOTE_SOURCE_UNAVAILABLE']);
      expect(res.errors![0].message).toMatch(/unavailable/i);
      // an update naming a new key is refused the same way and leaves the document as it was
      const upd = await s.gql(
        `mutation($id: ID!) { updateDeploymentIntentGroup(id: $id, input: { owner: { employeeId: "e-4" } }) { id } }`,
        { id: g1.id },
      );
      expect(codes(upd)).toEqual(['REMOTE_SOURCE_UNAVAILABLE']);
    } finally {
      await execClientSql(s.clientUrl, EMPLOYEE_BACK);
    }
    expect(await writeFootprint(s)).toEqual(before);
    const { resource } = await s.ok(`query($id: ID!) { resource(id: $id) { version ... on DeploymentIntentGroup { owner { id } } } }`, {
      id: g1.id,
    });
    expect(resource).toEqual({ version: 1, owner: { id: g1.owner.id } });
    // and once it is back, the same write goes through
    const ok = await s.ok(createGroup('g-down', 'owner: { employeeId: "e-4" }'));
    expect(ok.createDeploymentIntentGroup.owner).toMatchObject({ key: { employeeId: 'e-4' }, status: 'FRESH' });
  });

  it('saving a key flagged deleted asks the store: heals the row when it is back, refuses REMOTE_ENTITY_NOT_FOUND when it is gone', async () => {
    const flagDeleted = () =>
      s.ok(
        `mutation { applyRemoteChanges(events: [{ entityType: "Employee", key: { employeeId: "e-3" }, op: DELETE }]) { markedDeleted } }`,
      );
    expect((await flagDeleted()).applyRemoteChanges.markedDeleted).toBe(1);
    // the store still has e-3: the save refetches it and the row is FRESH again
    const { result, remote } = await countingRemote(s, () => s.ok(createGroup('healed', 'owner: { employeeId: "e-3" }')));
    expect(remote).toBe(1);
    expect(result.createDeploymentIntentGroup.owner).toMatchObject({ id: g1.owner.id, status: 'FRESH', lastError: null });

    await flagDeleted();
    await execClientSql(s.clientUrl, [`DELETE FROM employee WHERE employee_id = 'e-3'`]);
    try {
      const before = await writeFootprint(s);
      const res = await s.gql(createGroup('refused', 'owner: { employeeId: "e-3" }'));
      expect(codes(res)).toEqual(['REMOTE_ENTITY_NOT_FOUND']);
      expect(await writeFootprint(s)).toEqual(before);
    } finally {
      const e3 = DEMO_EMPLOYEES[2];
      await execClientSql(s.clientUrl, [
        `INSERT INTO employee (employee_id, name, email, department) VALUES ('e-3', '${e3.name}', '${e3.email}', '${e3.department}')`,
      ]);
      await s.ok(
        `mutation($e: JSON) { applyRemoteChanges(events: [{ entityType: "Employee", key: { employeeId: "e-3" }, op: UPSERT, entity: $e }]) { refreshed } }`,
        {
          e: e3,
        },
      );
    }
  });

  it('relinks on an owner change, keeps the owner when omitted, unlinks on null', async () => {
    const q = (input: string) =>
      s.ok(
        `mutation($id: ID!) { updateDeploymentIntentGroup(id: $id, input: ${input}) { version description owner { id key entity { name } } } }`,
        { id: g1.id },
      );
    const { updateDeploymentIntentGroup: u1 } = await q('{ owner: { employeeId: "e-5" } }');
    expect(u1.version).toBe(2);
    expect(u1.owner).toMatchObject({ key: { employeeId: 'e-5' }, entity: { name: DEMO_EMPLOYEES[4].name } });
    expect(u1.owner.id).not.toBe(g1.owner.id);
    expect(await linkedRef(s, g1.id, 'owner')).toBe(u1.owner.id);
    // the old row stays for the other group that still links to it
    expect(await rowCount(s, 'remote_link', 'remote_ref_id = ?', [g1.owner.id])).toBeGreaterThan(0);

    const { updateDeploymentIntentGroup: u2 } = await q('{ description: "kept owner" }');
    expect(u2).toMatchObject({ version: 3, description: 'kept owner', owner: { id: u1.owner.id } });
    expect(await linkedRef(s, g1.id, 'owner')).toBe(u1.owner.id);

    const { updateDeploymentIntentGroup: u3 } = await q('{ owner: null }');
    expect(u3).toMatchObject({ version: 4, description: 'kept owner', owner: null });
    expect(await linkedRef(s, g1.id, 'owner')).toBeNull();
    const { resource } = await s.ok(`query($id: ID!) { resource(id: $id) { history(first: 1) { content } } }`, { id: g1.id });
    expect(resource.history[0].content).not.toHaveProperty('owner');

    // setting it again links the existing row
    const { result, remote } = await countingRemote(s, () => q('{ owner: { employeeId: "e-3" } }'));
    expect(remote).toBe(0);
    expect(result.updateDeploymentIntentGroup.owner.id).toBe(g1.owner.id);
  });

  it('relinks a composite key on a project update', async () => {
    const { project } = await s.ok(`{ project(name: "billed") { id billingAccount { id } } }`);
    const { updateProject: u } = await s.ok(
      `mutation($id: ID!) { updateProject(id: $id, input: { billingAccount: { number: "ACC-1001", owner: "e-1" } }) { billingAccount { id hashKey key entity { owner } } } }`,
      { id: project.id },
    );
    expect(u.billingAccount).toMatchObject({
      hashKey: md5('{"number":"ACC-1001","owner":"e-1"}'),
      key: { number: 'ACC-1001', owner: 'e-1' },
      entity: { owner: 'e-1' },
    });
    expect(u.billingAccount.id).not.toBe(project.billingAccount.id);
    expect(await linkedRef(s, project.id, 'billingAccount')).toBe(u.billingAccount.id);
  });

  it.each([
    ['an empty key field', 'owner: { employeeId: "" }', 'owner'],
    ['a key field too long', `owner: { employeeId: "${'x'.repeat(256)}" }`, 'owner'],
  ])('refuses %s with BAD_USER_INPUT, storing nothing', async (_, extra, field) => {
    const before = await writeFootprint(s);
    const { result: res, remote } = await countingRemote(s, () => s.gql(createGroup('g-bad', extra)));
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors![0].message).toContain(field);
    expect(remote).toBe(0);
    expect(await writeFootprint(s)).toEqual(before);
  });

  it.each([
    ['a key without its field', createGroup('g-bad', 'owner: {}')],
    [
      'a composite key without one field',
      `mutation { createProject(input: { name: "half", billingAccount: { number: "ACC-1001" } }) { id } }`,
    ],
    ['a key with an unknown field', createGroup('g-bad', 'owner: { employeeId: "e-1", name: "x" }')],
  ])('refuses %s in GraphQL validation, storing nothing', async (_, doc) => {
    const before = await writeFootprint(s);
    const res = await s.gql(doc);
    expect(res.errors?.length).toBeGreaterThan(0);
    expect(res.data).toBeUndefined();
    expect(['GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT']).toContain(res.errors![0].extensions?.code);
    expect(await writeFootprint(s)).toEqual(before);
  });

  it('refuses a malformed key passed as a variable with BAD_USER_INPUT', async () => {
    const before = await writeFootprint(s);
    const res = await s.gql(
      `mutation($o: EmployeeKey) { createDeploymentIntentGroup(input: { project: "${DOMAIN.project}", compositeApp: "${DOMAIN.app}", compositeProfile: "${DOMAIN.profile}", name: "g-var", owner: $o }) { id } }`,
      { o: { employeeId: 'e-1', extra: true } },
    );
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(await writeFootprint(s)).toEqual(before);
  });
});

describe.each(OPERATIONAL_KINDS)('saving with an unreachable client store (operational %s)', (op) => {
  let s: TestServer;
  beforeAll(async () => {
    const port = await closedPort();
    s = await startTestServer(op, { env: { ...QUIET_ENV, CLIENT_DATABASE_URL: `mysql://root@127.0.0.1:${port}/nowhere` } });
    await createDomain(s);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('refuses a new key with REMOTE_SOURCE_UNAVAILABLE naming the cause, storing nothing', async () => {
    const before = await writeFootprint(s);
    const res = await s.gql(createGroup('g1', 'owner: { employeeId: "e-1" }'));
    expect(codes(res)).toEqual(['REMOTE_SOURCE_UNAVAILABLE']);
    expect(res.errors![0].message).toMatch(/refused the connection$/);
    expect(res.errors![0].message).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    expect(res.errors![0].extensions).toMatchObject({ entityType: 'Employee', source: 'client' });
    const res2 = await s.gql(
      `mutation { createProject(input: { name: "billed", billingAccount: { number: "ACC-1001", owner: "e-2" } }) { id } }`,
    );
    expect(codes(res2)).toEqual(['REMOTE_SOURCE_UNAVAILABLE']);
    expect(await writeFootprint(s)).toEqual(before);
  });

  it('still saves documents that name no remote key', async () => {
    const { createDeploymentIntentGroup: g } = await s.ok(createGroup('g2'));
    expect(g).toMatchObject({ name: 'g2', owner: null });
  });

  it('refuses browsing the store with REMOTE_SOURCE_UNAVAILABLE', async () => {
    const res = await s.gql(`{ employees(first: 5) { employeeId } }`);
    expect(codes(res)).toEqual(['REMOTE_SOURCE_UNAVAILABLE']);
  });
});
