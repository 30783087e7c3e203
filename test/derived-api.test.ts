// The API the relationship schema derives, on the demo domain, as a frontend would use it (issue
// 18): every kind can be updated, listed under any ancestor and paged as a connection; cursors
// belong to their list; every remote type can be browsed; approval pins answer typed resources.
import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costModel, estimateCost } from '../src/server/limits/cost.js';
import { buildSchema } from '../src/server/schema.js';
import { OPERATIONAL_KINDS } from './support/stores.js';
import { codes, startTestServer, type TestServer } from './support/server.js';

describe.each(OPERATIONAL_KINDS)('derived API on %s', (store) => {
  let s: TestServer;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    s = await startTestServer(store);
    const r = await s.ok(`mutation {
      prov: createClusterProvider(input: { name: "prov", description: "first" }) { id }
      other: createClusterProvider(input: { name: "other" }) { id }
      c1: createCluster(input: { provider: "prov", name: "c1" }) { id }
      c2: createCluster(input: { provider: "prov", name: "c2" }) { id }
      c3: createCluster(input: { provider: "prov", name: "c3" }) { id }
      o1: createCluster(input: { provider: "other", name: "o1" }) { id }
      p: createProject(input: { name: "shop" }) { id }
      q: createProject(input: { name: "bank" }) { id }
      app: createCompositeApp(input: { project: "shop", name: "web" }) { id }
      app2: createCompositeApp(input: { project: "bank", name: "web" }) { id }
      prof: createCompositeProfile(input: { project: "shop", compositeApp: "web", name: "default" }) { id }
      lc: createLogicalCluster(input: { project: "shop", name: "lc", description: "east" }) { id }
      g: createDeploymentIntentGroup(input: { project: "shop", compositeApp: "web", compositeProfile: "default", name: "g",
        description: "v1", logicalCluster: "lc", clusters: [{ provider: "prov", name: "c1" }] }) { id }
    }`);
    for (const [k, v] of Object.entries(r)) ids[k] = (v as { id: string }).id;
  });
  afterAll(async () => {
    await s?.close();
  });

  it('updates the kinds that used to have no update mutation', async () => {
    const { updateClusterProvider: p } = await s.ok(
      `mutation($id: ID!) { updateClusterProvider(id: $id, input: { description: "second" }, expectedVersion: 1) { version description } }`,
      {
        id: ids.prov,
      },
    );
    expect(p).toEqual({ version: 2, description: 'second' });
    const { updateCompositeProfile: prof } = await s.ok(
      `mutation($id: ID!) { updateCompositeProfile(id: $id, input: { description: "std" }) { description compositeApp { name } } }`,
      {
        id: ids.prof,
      },
    );
    expect(prof).toEqual({ description: 'std', compositeApp: { name: 'web' } });
    const { updateLogicalCluster: lc } = await s.ok(
      `mutation($id: ID!) { updateLogicalCluster(id: $id, input: { description: null }) { description } }`,
      { id: ids.lc },
    );
    expect(lc).toEqual({ description: null });
  });

  it('lists every kind, under any ancestor or none; an ancestor needs the ones above it', async () => {
    const all = await s.ok(
      `{ clusterProviders(first: 10) { name } clusters(first: 10) { name } compositeApps(first: 10) { name project { name } } }`,
    );
    expect(all.clusterProviders.map((p: { name: string }) => p.name).sort()).toEqual(['other', 'prov']);
    expect(all.clusters).toHaveLength(4);
    expect(all.compositeApps).toHaveLength(2);
    const under = await s.ok(`{ clusters(provider: "prov", first: 10) { name } compositeApps(project: "bank", first: 10) { id } }`);
    expect(under.clusters.map((c: { name: string }) => c.name).sort()).toEqual(['c1', 'c2', 'c3']);
    expect(under.compositeApps).toEqual([{ id: ids.app2 }]);
    const res = await s.gql(`{ compositeProfiles(compositeApp: "web", first: 10) { name } }`);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors![0].message).toContain('needs project too');
  });

  it('pages a connection with cursors, hasNextPage and totalCount, in the plain list order', async () => {
    const plain = (await s.ok(`{ clusters(provider: "prov", first: 10) { id } }`)).clusters.map((c: { id: string }) => c.id);
    const q = `query($after: String) { clustersConnection(provider: "prov", first: 2, after: $after) {
      totalCount edges { cursor node { id name provider { name } } } pageInfo { hasNextPage endCursor } } }`;
    const p1 = (await s.ok(q, { after: null })).clustersConnection;
    expect(p1.totalCount).toBe(3);
    expect(p1.edges).toHaveLength(2);
    expect(p1.pageInfo).toEqual({ hasNextPage: true, endCursor: p1.edges[1].cursor });
    const p2 = (await s.ok(q, { after: p1.pageInfo.endCursor })).clustersConnection;
    expect(p2.edges).toHaveLength(1);
    expect(p2.pageInfo.hasNextPage).toBe(false);
    expect([...p1.edges, ...p2.edges].map((e: { node: { id: string } }) => e.node.id)).toEqual(plain);
    const p3 = (await s.ok(q, { after: p2.pageInfo.endCursor })).clustersConnection;
    expect(p3).toEqual({ totalCount: 3, edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
    // totalCount alone reads no page: one statement.
    const counted = await s.countedGql(`{ projectsConnection { totalCount } }`);
    expect(counted.res.data).toEqual({ projectsConnection: { totalCount: 2 } });
    expect(counted.statements).toHaveLength(1);
    // A page costs the same statements whatever its size, references and parents included.
    const deep = (first: number) =>
      s.countedGql(
        `{ clustersConnection(first: ${first}) { totalCount edges { node { name provider { name } referencedBy(first: 5) { path } } } } }`,
      );
    const [one, all] = [await deep(1), await deep(4)];
    expect(all.res.errors).toBeUndefined();
    expect(all.statements.length).toBe(one.statements.length);
  });

  it('refuses an after that is not a cursor of this list, and a plain list refuses an unknown after', async () => {
    const cursor = (await s.ok(`{ clustersConnection(provider: "prov", first: 1) { pageInfo { endCursor } } }`)).clustersConnection.pageInfo
      .endCursor;
    for (const q of [
      `query($a: String) { clustersConnection(provider: "other", first: 1, after: $a) { totalCount } }`,
      `query($a: String) { clustersConnection(first: 1, after: $a) { totalCount } }`,
      `query($a: String) { projectsConnection(first: 1, after: $a) { totalCount } }`,
    ]) {
      expect(codes(await s.gql(q, { a: cursor })), q).toEqual(['BAD_USER_INPUT']);
    }
    expect(codes(await s.gql(`{ projectsConnection(after: "not a cursor") { totalCount } }`))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await s.gql(`{ projects(after: "no-such-id") { id } }`))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await s.gql(`query($a: ID) { projects(after: $a) { id } }`, { a: ids.c1 }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await s.gql(`query($a: ID) { clusters(provider: "other", after: $a) { id } }`, { a: ids.c1 }))).toEqual([
      'BAD_USER_INPUT',
    ]);
    const last = (await s.ok(`{ projects(first: 10) { id } }`)).projects.at(-1).id;
    expect((await s.ok(`query($a: ID) { projects(after: $a) { id } }`, { a: last })).projects).toEqual([]);
  });

  it('browses every remote type', async () => {
    const { bankAccounts, employees } = await s.ok(
      `{ bankAccounts(first: 3) { number owner bank } employees(first: 2) { employeeId name } }`,
    );
    expect(bankAccounts).toHaveLength(3);
    expect(bankAccounts[0]).toMatchObject({ number: expect.any(String), owner: expect.any(String) });
    expect(employees).toHaveLength(2);
  });

  it('answers approval pins as typed resources as of the pinned version', async () => {
    const { approveDeploymentIntentGroup: a } = await s.ok(
      `mutation($id: ID!) { approveDeploymentIntentGroup(id: $id) { id resource { id kind ... on DeploymentIntentGroup { description } } } }`,
      {
        id: ids.g,
      },
    );
    expect(a.resource).toEqual({ id: ids.g, kind: 'DeploymentIntentGroup', description: 'v1' });
    await s.ok(
      `mutation($id: ID!) { updateDeploymentIntentGroup(id: $id, input: { description: "v2", clusters: [{ provider: "prov", name: "c2" }] }) { version } }`,
      { id: ids.g },
    );
    const { approval } = await s.ok(
      `query($a: ID!, $g: ID!) { approval(id: $a) { stale pinned(resourceId: $g) { version resource {
        version ... on DeploymentIntentGroup { description clusters(first: 5) { name } logicalCluster { name } } } } } }`,
      { a: a.id, g: ids.g },
    );
    expect(approval.stale).toBe(true);
    expect(approval.pinned).toEqual({
      version: 1,
      resource: { version: 1, description: 'v1', clusters: [{ name: 'c1' }], logicalCluster: { name: 'lc' } },
    });
    const now = (
      await s.ok(`query($g: ID!) { resource(id: $g) { ... on DeploymentIntentGroup { description clusters(first: 5) { name } } } }`, {
        g: ids.g,
      })
    ).resource;
    expect(now).toEqual({ description: 'v2', clusters: [{ name: 'c2' }] });
  });
});

describe('the cost estimate of a connection', () => {
  const model = costModel(buildSchema());
  const cost = (query: string) => {
    const document = parse(query);
    const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
    return estimateCost(model, document, operation, {})!;
  };

  it("counts edges at the connection's first (or its default page), as the plain list counts its items", () => {
    const page = (first: string) =>
      cost(`{ clustersConnection${first} { totalCount pageInfo { hasNextPage } edges { cursor node { id name } } } }`);
    const list = (first: string) => cost(`{ clusters${first} { id name } }`);
    expect(page('(first: 10)')).toBeLessThan(page('(first: 20)'));
    expect(page('(first: 20)') - page('(first: 10)')).toBe(10 * 5); // edge, cursor, node, id, name
    expect(list('(first: 20)') - list('(first: 10)')).toBe(10 * 3);
    expect(page('')).toBe(page('(first: 100)'));
    // What the edges hold is multiplied by the page, and lists under the nodes by their own pages.
    expect(cost(`{ clustersConnection(first: 50) { edges { node { referencedBy(first: 100) { path } } } } }`)).toBeGreaterThan(50 * 100);
  });
});
