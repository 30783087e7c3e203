// The kind-independent view of a resource's references (Resource.references, Resource.remoteReferences):
// what a generic client (the console) reads of any kind without knowing its fields.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { OPERATIONAL_KINDS } from './support/stores.js';
import { DOMAIN, QUIET_ENV, createDomain, groupInput } from './support/remote-fixtures.js';
import { as, jwtEnv, SCOPES } from './support/tokens.js';

const NODE = 'to { kind naturalKey } type path';

describe.each(OPERATIONAL_KINDS)('generic references on %s', (op) => {
  let s: TestServer;
  let group: string;
  beforeAll(async () => {
    s = await startTestServer(op, { client: 'mariadb', env: QUIET_ENV });
    await createDomain(s);
    const r = await s.ok<{ g: { id: string } }>(
      `mutation { g: createDeploymentIntentGroup(input: ${groupInput(
        'g',
        `logicalCluster: "${DOMAIN.lc}",
      clusters: [{ provider: "prov", name: "c2" }, { provider: "prov", name: "c1" }], owner: { employeeId: "e-1" }`,
      )}) { id } }`,
    );
    group = r.g.id;
  });
  afterAll(async () => {
    await s?.close();
  });

  it('lists the parent (CHILD) and every body reference by path, in order, on the interface', async () => {
    const { resource } = await s.ok(`query($id: ID!) { resource(id: $id) { references(first: 10) { ${NODE} from { naturalKey } } } }`, {
      id: group,
    });
    expect(resource.references).toEqual([
      {
        type: 'CHILD',
        path: 'parent',
        to: { kind: 'CompositeProfile', naturalKey: 'rp/shop/default' },
        from: { naturalKey: 'rp/shop/default/g' },
      },
      { type: 'ARBITRARY', path: 'clusters[0]', to: { kind: 'Cluster', naturalKey: 'prov/c2' }, from: { naturalKey: 'rp/shop/default/g' } },
      { type: 'ARBITRARY', path: 'clusters[1]', to: { kind: 'Cluster', naturalKey: 'prov/c1' }, from: { naturalKey: 'rp/shop/default/g' } },
      {
        type: 'ARBITRARY',
        path: 'logicalCluster',
        to: { kind: 'LogicalCluster', naturalKey: 'rp/lc' },
        from: { naturalKey: 'rp/shop/default/g' },
      },
    ]);
    // `first` pages; a root kind refers to nothing.
    const paged = await s.ok(
      `query($id: ID!) { resource(id: $id) { references(first: 2) { path } } project(name: "rp") { references(first: 5) { path } } }`,
      { id: group },
    );
    expect(paged.resource.references.map((x: { path: string }) => x.path)).toEqual(['parent', 'clusters[0]']);
    expect(paged.project.references).toEqual([]);
  });

  it('follows an update: a removed reference is gone, the list reindexed', async () => {
    await s.ok(
      `mutation($id: ID!) { updateDeploymentIntentGroup(id: $id, input: { clusters: [{ provider: "prov", name: "c1" }], logicalCluster: null }) { version } }`,
      { id: group },
    );
    const { resource } = await s.ok(`query($id: ID!) { resource(id: $id) { references(first: 10) { ${NODE} } } }`, { id: group });
    expect(resource.references).toEqual([
      { type: 'CHILD', path: 'parent', to: { kind: 'CompositeProfile', naturalKey: 'rp/shop/default' } },
      { type: 'ARBITRARY', path: 'clusters[0]', to: { kind: 'Cluster', naturalKey: 'prov/c1' } },
    ]);
  });

  it('lists the remote references that are set, with their field and status', async () => {
    const { resource, project } = await s.ok(
      `query($id: ID!) { resource(id: $id) { remoteReferences(first: 5) { path reference { entityType key status ... on EmployeeRef { entity { employeeId } } } } }
         project(name: "rp") { remoteReferences { path } } }`,
      { id: group },
    );
    expect(resource.remoteReferences).toEqual([
      { path: 'owner', reference: { entityType: 'Employee', key: { employeeId: 'e-1' }, status: 'FRESH', entity: { employeeId: 'e-1' } } },
    ]);
    // A project without a billing account: nothing set, nothing listed.
    expect(project.remoteReferences).toEqual([]);
  });
});

describe.each(OPERATIONAL_KINDS)('generic references under tenancy on %s', (op) => {
  let s: TestServer;
  let admin: Record<string, string>;
  beforeAll(async () => {
    s = await startTestServer(op, { env: jwtEnv(), seedDemo: true });
    admin = await as('root', SCOPES);
  });
  afterAll(async () => {
    await s?.close();
  });

  it("names for a confined caller what the typed fields name, and answers another project's resources not at all", async () => {
    const q = `{ deploymentIntentGroup(project: "retail", compositeApp: "storefront", compositeProfile: "default", name: "prod-east") {
      id references(first: 50) { type path to { id } } remoteReferences(first: 5) { path reference { id } }
      compositeProfile { id } logicalCluster { id } clusters(first: 50) { id } owner { id } } }`;
    const rita = await as('rita', ['integrity:read'], ['retail']);
    for (const caller of [admin, rita]) {
      const g = (await s.ok<any>(q, {}, caller)).deploymentIntentGroup;
      const typed = [
        { type: 'CHILD', path: 'parent', to: g.compositeProfile },
        ...g.clusters.map((c: { id: string }, i: number) => ({ type: 'ARBITRARY', path: `clusters[${i}]`, to: c })),
        ...(g.logicalCluster ? [{ type: 'ARBITRARY', path: 'logicalCluster', to: g.logicalCluster }] : []),
      ];
      expect(g.references).toEqual(typed);
      expect(g.remoteReferences).toEqual(g.owner ? [{ path: 'owner', reference: g.owner }] : []);
    }
    const logi = await as('lou', ['integrity:read'], ['logistics']);
    const other = await s.ok<any>(
      `query($id: ID!) { resource(id: $id) { references(first: 5) { path } } }`,
      {
        id: (await s.ok<any>(q, {}, admin)).deploymentIntentGroup.id,
      },
      logi,
    );
    expect(other.resource).toBeNull();
  });
});
