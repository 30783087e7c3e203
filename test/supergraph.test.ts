import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatements } from '../src/data/statement-log.js';
import { execClientSql } from '../src/remote/client-demo.js';
import { startSupergraph, type Listing, type Supergraph } from './fixtures/supergraph.js';
import { OPERATIONAL_KINDS } from './support/stores.js';
import { startTestServer, type TestServer } from './support/server.js';

const UNKNOWN_ID = '01900000-0000-7000-8000-000000000000';
const N = 20;

describe.each(OPERATIONAL_KINDS)('a supergraph through Apollo Gateway, operational store %s', (store) => {
  let s: TestServer;
  let sg: Supergraph;
  const ids: Record<string, string> = {};
  const clusterIds: string[] = [];
  const groupIds: string[] = [];

  beforeAll(async () => {
    s = await startTestServer(store, { env: { AUTH_MODE: 'none', RETENTION_SECONDS: '0' } });
    const base = await s.ok<Record<string, { id: string }>>(`mutation {
      p: createProject(input: { name: "shop", description: "the shop", billingAccount: { number: "ACC-1001", owner: "e-1" } }) { id }
      l: createProject(input: { name: "lab" }) { id }
      a: createCompositeApp(input: { project: "shop", name: "web" }) { id }
      f: createCompositeProfile(input: { project: "shop", compositeApp: "web", name: "std" }) { id }
      v: createClusterProvider(input: { name: "aws" }) { id }
      gone: createProject(input: { name: "gone" }) { id }
    }`);
    for (const [k, v] of Object.entries(base)) ids[k] = v.id;
    const clusters = await s.ok<Record<string, { id: string }>>(
      `mutation { ${Array.from({ length: N }, (_, i) => `c${i}: createCluster(input: { provider: "aws", name: "c${i}", labels: ["l${i}"] }) { id }`).join('\n')} }`,
    );
    clusterIds.push(...Array.from({ length: N }, (_, i) => clusters[`c${i}`].id));
    const groups = await s.ok<Record<string, { id: string }>>(
      `mutation { ${Array.from(
        { length: N },
        (_, i) => `g${i}: createDeploymentIntentGroup(input: { project: "shop", compositeApp: "web", compositeProfile: "std", name: "g${i}",
          owner: { employeeId: "e-${(i % 3) + 1}" }, clusters: [{ provider: "aws", name: "c${i}" }] }) { id }`,
      ).join('\n')} }`,
    );
    groupIds.push(...Array.from({ length: N }, (_, i) => groups[`g${i}`].id));
    // A collected resource: marked, then garbage-collected (retention 0).
    await s.ok(`mutation { markForDeletion(id: "${ids.gone}") { marked { id } } }`);
    const gc = await s.ok<{ collectGarbage: { deleted: string[] } }>(`mutation { collectGarbage { deleted } }`);
    expect(gc.collectGarbage.deleted).toContain(ids.gone);
    sg = await startSupergraph({ url: s.url, clientUrl: s.clientUrl });
  });
  afterAll(async () => {
    await sg?.close();
    await s?.close();
  });

  const ok = async <T = Record<string, any>>(query: string, variables?: Record<string, unknown>) => {
    const res = await sg.gql<T>(query, variables);
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    return res.data as T;
  };

  /** Runs a gateway query; counts the integrity subgraph's _entities calls and SQL statements meanwhile. */
  const measured = async <T = Record<string, any>>(query: string) => {
    const from = sg.requests.length;
    const { result, statements } = await countStatements(s.app.db.statementLog, () => ok<T>(query));
    return { data: result, entityCalls: sg.entityCalls('integrity', from), statements: statements.length };
  };

  it('composes this subgraph, the owner of employees and three subgraphs that refer to resources with no errors and no hints', () => {
    expect(sg.subgraphs.map((g) => g.name)).toEqual(['integrity', 'employees', 'notes', 'catalog', 'tags']);
    expect(sg.hints).toEqual([]);
  });

  const NOTED = `{ notedResources { id note kind ... on Project { name description } ... on Cluster { name labels provider { name } } } }`;

  it('crosses into this subgraph through the entity interface (@interfaceObject), by id', async () => {
    sg.notedIds = [ids.p, clusterIds[0]];
    const { notedResources } = await ok(NOTED);
    expect(notedResources).toEqual([
      { id: ids.p, note: `note on ${ids.p}`, kind: 'Project', name: 'shop', description: 'the shop' },
      { id: clusterIds[0], note: `note on ${clusterIds[0]}`, kind: 'Cluster', name: 'c0', labels: ['l0'], provider: { name: 'aws' } },
    ]);
  });

  it("and out of it to the interface object: every resource has the other subgraph's field", async () => {
    const data = await ok(
      `{ project(name: "shop") { note compositeApps { note profiles { name note } } } resource(id: "${clusterIds[1]}") { kind note } }`,
    );
    expect(data.project).toEqual({
      note: `note on ${ids.p}`,
      compositeApps: [{ note: `note on ${ids.a}`, profiles: [{ name: 'std', note: `note on ${ids.f}` }] }],
    });
    expect(data.resource).toEqual({ kind: 'Cluster', note: `note on ${clusterIds[1]}` });
  });

  it('resolves an unknown id and a collected one to null, not an error', async () => {
    sg.notedIds = [ids.p, UNKNOWN_ID, ids.gone];
    const { notedResources } = await ok(`{ notedResources { id kind } }`);
    expect(notedResources).toEqual([{ id: ids.p, kind: 'Project' }, null, null]);
  });

  it('batches: one _entities call per query-plan step and the same statements for 2 resources or 20', async () => {
    sg.notedIds = clusterIds.slice(0, 2);
    const two = await measured<{ notedResources: unknown[] }>(NOTED);
    sg.notedIds = clusterIds;
    const twenty = await measured<{ notedResources: { name: string }[] }>(NOTED);
    expect(twenty.data.notedResources.map((r) => r.name)).toEqual(clusterIds.map((_, i) => `c${i}`));
    expect(two.entityCalls.map((c) => c.typenames)).toEqual([['Resource', 'Resource']]);
    expect(twenty.entityCalls.map((c) => c.typenames)).toEqual([Array(N).fill('Resource')]);
    expect(twenty.statements).toBe(two.statements);
  });

  const TAGGED = `{ tagged { kind naturalKey tags ... on Resource { id } ... on Project { description } ... on DeploymentIntentGroup { owner { entity { employeeId } } } } }`;

  it('crosses into this subgraph through the entity interface by natural key (`kind naturalKey`), and out of it', async () => {
    sg.tagged = [
      { kind: 'Project', naturalKey: 'shop' },
      { kind: 'DeploymentIntentGroup', naturalKey: 'shop/web/std/g1' },
      { kind: 'Cluster', naturalKey: 'aws/nope' },
      { kind: 'Project', naturalKey: 'gone' },
      { kind: 'NoSuchKind', naturalKey: 'x' },
      { kind: 'Cluster', naturalKey: 'too/many/names' },
    ];
    const { tagged } = await ok(TAGGED);
    expect(tagged).toEqual([
      { kind: 'Project', naturalKey: 'shop', tags: ['Project:shop'], id: ids.p, description: 'the shop' },
      {
        kind: 'DeploymentIntentGroup',
        naturalKey: 'shop/web/std/g1',
        tags: ['DeploymentIntentGroup:shop/web/std/g1'],
        id: groupIds[1],
        owner: { entity: { employeeId: 'e-2' } },
      },
      null,
      null,
      null,
      null,
    ]);
    const { project, resource } = await ok(
      `{ project(name: "lab") { naturalKey tags } resource(id: "${clusterIds[3]}") { naturalKey tags } }`,
    );
    expect(project).toEqual({ naturalKey: 'lab', tags: ['Project:lab'] });
    expect(resource).toEqual({ naturalKey: 'aws/c3', tags: ['Cluster:aws/c3'] });
  });

  it("batches the interface's natural key: one _entities call and the same statements for 2 resources or 20", async () => {
    const at = (n: number) => clusterIds.slice(0, n).map((_, i) => ({ kind: 'Cluster', naturalKey: `aws/c${i}` }));
    sg.tagged = at(2);
    const two = await measured(TAGGED);
    sg.tagged = at(N);
    const twenty = await measured<{ tagged: { id: string }[] }>(TAGGED);
    expect(twenty.data.tagged.map((t) => t.id)).toEqual(clusterIds);
    expect(two.entityCalls.map((c) => c.typenames)).toEqual([['Resource', 'Resource']]);
    expect(twenty.entityCalls.map((c) => c.typenames)).toEqual([Array(N).fill('Resource')]);
    expect(twenty.statements).toBe(two.statements);
  });

  const LISTINGS = `{ listings {
    title
    project { id description logicalClusters { name } }
    cluster { id labels provider { id } }
    group { id owner { entity { employeeId } } compositeProfile { id } }
  } }`;

  const listing = (i: number): Listing => ({
    title: `t${i}`,
    project: i % 2 ? 'lab' : 'shop',
    cluster: { provider: 'aws', name: `c${i}` },
    group: { project: 'shop', compositeApp: 'web', compositeProfile: 'std', name: `g${i}` },
  });

  it('crosses into this subgraph by natural key (a second @key per kind)', async () => {
    sg.listings = [listing(0), listing(1), { title: 'unknown', project: 'nope', cluster: { provider: 'aws', name: 'nope' } }];
    const { listings } = await ok(LISTINGS);
    expect(listings[0]).toEqual({
      title: 't0',
      project: { id: ids.p, description: 'the shop', logicalClusters: [] },
      cluster: { id: clusterIds[0], labels: ['l0'], provider: { id: ids.v } },
      group: { id: groupIds[0], owner: { entity: { employeeId: 'e-1' } }, compositeProfile: { id: ids.f } },
    });
    expect(listings[1].project.id).toBe(ids.l);
    expect(listings[1].group.id).toBe(groupIds[1]);
    // Unknown names resolve to null entities, not errors.
    expect(listings[2]).toEqual({ title: 'unknown', project: null, cluster: null, group: null });
  });

  it('batches natural keys like ids: the same _entities calls and statements for 2 listings or 20', async () => {
    sg.listings = [listing(0), listing(1)];
    const two = await measured(LISTINGS);
    sg.listings = Array.from({ length: N }, (_, i) => listing(i));
    const twenty = await measured<{ listings: { cluster: { id: string }; group: { id: string } }[] }>(LISTINGS);
    expect(twenty.data.listings.map((l) => l.cluster.id)).toEqual(clusterIds);
    expect(twenty.data.listings.map((l) => l.group.id)).toEqual(groupIds);
    // One _entities call per type of the step (the gateway sends them in parallel), each holding all N representations.
    const perType = (m: typeof two) => m.entityCalls.map((c) => [[...new Set(c.typenames)].join(), c.typenames.length]).sort();
    expect(perType(two)).toEqual([
      ['Cluster', 2],
      ['DeploymentIntentGroup', 2],
      ['Project', 2],
    ]);
    expect(perType(twenty)).toEqual([
      ['Cluster', N],
      ['DeploymentIntentGroup', N],
      ['Project', N],
    ]);
    expect(twenty.statements).toBe(two.statements);
  });

  it('crosses out of this subgraph: owner fields the cache does not hold come from the owning subgraph', async () => {
    const data = await ok(`{
      project(name: "shop") { billingAccount { status entity { number owner bank holder { name bankAccounts { number } } } } }
      deploymentIntentGroups(project: "shop", first: 3) { name owner { status entity { employeeId name bankAccounts { number currency } } } }
    }`);
    expect(data.project.billingAccount).toEqual({
      status: 'FRESH',
      entity: {
        number: 'ACC-1001',
        owner: 'e-1',
        bank: 'First Analytical Bank',
        holder: { name: 'Ada Lovelace', bankAccounts: [{ number: 'ACC-1001' }, { number: 'ACC-1002' }] },
      },
    });
    expect(
      data.deploymentIntentGroups.map((g: any) => [
        g.name,
        g.owner.entity.employeeId,
        g.owner.entity.bankAccounts.map((a: any) => a.number),
      ]),
    ).toEqual([
      ['g0', 'e-1', ['ACC-1001', 'ACC-1002']],
      ['g1', 'e-2', ['ACC-1001']],
      ['g2', 'e-3', ['ACC-2001']],
    ]);
  });

  it('crosses out in one _entities call per step whatever the list length, and the cache join costs the same statements', async () => {
    const Q = (first: number) =>
      `{ deploymentIntentGroups(project: "shop", first: ${first}) { owner { entity { name bankAccounts { number } } } } }`;
    const run = async (first: number) => {
      const from = sg.requests.length;
      const { result, statements } = await countStatements(s.app.db.statementLog, () =>
        ok<{ deploymentIntentGroups: unknown[] }>(Q(first)),
      );
      expect(result.deploymentIntentGroups).toHaveLength(first);
      return { calls: sg.entityCalls('employees', from).map((c) => c.typenames.length), statements: statements.length };
    };
    const two = await run(2);
    const twenty = await run(N);
    expect(two.calls).toEqual([2]);
    expect(twenty.calls).toEqual([N]);
    expect(twenty.statements).toBe(two.statements);
  });

  it('crosses in from the owning subgraph: which documents refer to an employee', async () => {
    const { employee, unreferenced } = await ok(`{
      employee(employeeId: "e-2") { name referencedBy { path from { kind ... on DeploymentIntentGroup { name } } } }
      unreferenced: employee(employeeId: "e-20") { name department referencedBy { path } }
    }`);
    expect(employee.name).toBe('Alan Turing');
    expect(employee.referencedBy.map((r: any) => r.from.name)).toEqual(
      groupIds
        .flatMap((_, i) => (i % 3 === 1 ? [`g${i}`] : []))
        .sort((a, b) => groupIds[Number(a.slice(1))].localeCompare(groupIds[Number(b.slice(1))])),
    );
    expect(employee.referencedBy.every((r: any) => r.path === 'owner' && r.from.kind === 'DeploymentIntentGroup')).toBe(true);
    expect(unreferenced).toEqual({ name: 'Katherine Johnson', department: null, referencedBy: [] });
  });

  it('serves the shared fields from either side: the cache may be older than the owner until a change reaches it', async () => {
    await execClientSql(s.clientUrl, [`UPDATE employee SET name = 'Ada King' WHERE employee_id = 'e-1'`]);
    try {
      const data = await ok(`{
        deploymentIntentGroup(project: "shop", compositeApp: "web", compositeProfile: "std", name: "g0") { owner { entity { name } } }
        employee(employeeId: "e-1") { name }
      }`);
      expect(data.deploymentIntentGroup.owner.entity.name).toBe('Ada Lovelace'); // the remote_ref cache
      expect(data.employee.name).toBe('Ada King'); // the owner
      await s.ok(`mutation { applyRemoteChanges(events: [{ entityType: "Employee", key: { employeeId: "e-1" }, op: UPSERT,
        entity: { employeeId: "e-1", name: "Ada King", email: "ada.lovelace@example.com", department: "Engineering" } }]) { refreshed } }`);
      const after = await ok(
        `{ deploymentIntentGroup(project: "shop", compositeApp: "web", compositeProfile: "std", name: "g0") { owner { entity { name } } } }`,
      );
      expect(after.deploymentIntentGroup.owner.entity.name).toBe('Ada King');
    } finally {
      await execClientSql(s.clientUrl, [`UPDATE employee SET name = 'Ada Lovelace' WHERE employee_id = 'e-1'`]);
    }
  });
});
