import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATIONAL_KINDS } from './support/stores.js';
import { codes, startTestServer, type TestServer } from './support/server.js';

const RESOURCE = `id kind version status createdAt updatedAt markedForDeletionAt deleteAfter`;

describe.each(OPERATIONAL_KINDS)('resources on %s', (store) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(store);
  });
  afterAll(async () => {
    await s?.close();
  });

  const count = async () => Number((await s.app.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM resource'))[0].n);

  it('creates a project at version 1 with database times', async () => {
    const before = Date.now();
    const { createProject: p } = await s.ok(
      `mutation { createProject(input: { name: "alpha", description: "first" }) { ${RESOURCE} name description } }`,
    );
    expect(p).toMatchObject({
      kind: 'Project',
      version: 1,
      status: 'ACTIVE',
      name: 'alpha',
      description: 'first',
      markedForDeletionAt: null,
      deleteAfter: null,
    });
    expect(p.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    expect(p.updatedAt).toBe(p.createdAt);
    expect(Math.abs(Date.parse(p.createdAt) - before)).toBeLessThan(60_000);
  });

  it('refuses a duplicate natural key with ALREADY_EXISTS and stores nothing', async () => {
    const n = await count();
    const res = await s.gql(`mutation { createProject(input: { name: "alpha" }) { id } }`);
    expect(codes(res)).toEqual(['ALREADY_EXISTS']);
    expect(res.errors![0].message).toContain('Project alpha already exists');
    expect(await count()).toBe(n);
  });

  it('refuses a missing parent with NOT_FOUND naming it', async () => {
    const res = await s.gql(`mutation { createCompositeApp(input: { project: "nope", name: "app" }) { id } }`);
    expect(codes(res)).toEqual(['NOT_FOUND']);
    expect(res.errors![0].message).toContain('Project nope does not exist');
  });

  it.each([
    ['an empty name', `createProject(input: { name: "" }) { id }`, 'name'],
    ['a name with spaces', `createProject(input: { name: "two words" }) { id }`, 'name'],
    ['a name too long', `createProject(input: { name: "${'x'.repeat(64)}" }) { id }`, 'name'],
    ['a description too long', `createProject(input: { name: "long", description: "${'d'.repeat(2001)}" }) { id }`, 'description'],
    ['a bad label', `createCluster(input: { provider: "p", name: "c", labels: ["has space"] }) { id }`, 'labels[0]'],
    ['duplicate labels', `createCluster(input: { provider: "p", name: "c", labels: ["a", "a"] }) { id }`, 'labels'],
  ])('refuses %s with BAD_USER_INPUT naming the field', async (_, op, field) => {
    const n = await count();
    const res = await s.gql(`mutation { ${op} }`);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors![0].message).toContain(field);
    expect(await count()).toBe(n);
  });

  it('refuses malformed names in lookups with BAD_USER_INPUT, and answers null for unknown ones', async () => {
    const bad = await s.gql(`{ project(name: "no such/name") { id } }`);
    expect(codes(bad)).toEqual(['BAD_USER_INPUT']);
    expect(bad.errors![0].message).toContain('name');
    expect(await s.ok(`{ project(name: "unknown") { id } clusterProvider(name: "unknown") { id } resource(id: "nope") { id } }`)).toEqual({
      project: null,
      clusterProvider: null,
      resource: null,
    });
  });

  it('refuses an oversized list of references', async () => {
    const clusters = Array.from({ length: 501 }, (_, i) => ({ provider: 'p', name: `c${i}` }));
    const res = await s.gql(
      `mutation($c: [ClusterKey!]) { createDeploymentIntentGroup(input: { project: "alpha", compositeApp: "a", compositeProfile: "p", name: "g", clusters: $c }) { id } }`,
      { c: clusters },
    );
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors![0].message).toContain('clusters');
  });

  describe('a deployment group with its references', () => {
    let group: any;
    beforeAll(async () => {
      await s.ok(`mutation {
        a: createClusterProvider(input: { name: "prov" }) { id }
        b: createCluster(input: { provider: "prov", name: "c1", labels: ["gpu"] }) { id }
        c: createCluster(input: { provider: "prov", name: "c2" }) { id }
        d: createCompositeApp(input: { project: "alpha", name: "shop" }) { id }
        e: createCompositeProfile(input: { project: "alpha", compositeApp: "shop", name: "default" }) { id }
        f: createLogicalCluster(input: { project: "alpha", name: "lc" }) { id }
      }`);
      ({ createDeploymentIntentGroup: group } = await s.ok(`mutation {
        createDeploymentIntentGroup(input: {
          project: "alpha", compositeApp: "shop", compositeProfile: "default", name: "g1",
          logicalCluster: "lc", clusters: [{ provider: "prov", name: "c2" }, { provider: "prov", name: "c1" }]
        }) { id version name logicalCluster { name } clusters { name labels provider { name } }
             compositeProfile { name compositeApp { name project { name } } } }
      }`));
    });

    it('resolves parents and references in order', () => {
      expect(group.version).toBe(1);
      expect(group.logicalCluster).toEqual({ name: 'lc' });
      expect(group.clusters).toEqual([
        { name: 'c2', labels: [], provider: { name: 'prov' } },
        { name: 'c1', labels: ['gpu'], provider: { name: 'prov' } },
      ]);
      expect(group.compositeProfile).toEqual({ name: 'default', compositeApp: { name: 'shop', project: { name: 'alpha' } } });
    });

    it('lists who refers to a resource, with type and path', async () => {
      const { clusterProvider } = await s.ok(`{ clusterProvider(name: "prov") {
        referencedBy { type path from { kind ... on Cluster { name } } }
        clusters(first: 10) { name referencedBy(first: 10) { type path from { id kind } to { kind } } } } }`);
      expect(clusterProvider.referencedBy.map((r: any) => `${r.type} ${r.path} ${r.from.name}`).sort()).toEqual([
        'CHILD parent c1',
        'CHILD parent c2',
      ]);
      const c1 = clusterProvider.clusters.find((c: any) => c.name === 'c1');
      expect(c1.referencedBy).toEqual([
        { type: 'ARBITRARY', path: 'clusters[1]', from: { id: group.id, kind: 'DeploymentIntentGroup' }, to: { kind: 'Cluster' } },
      ]);
    });

    it('refuses references to missing targets with NOT_FOUND naming all of them, storing nothing', async () => {
      const n = await count();
      const res = await s.gql(`mutation { createDeploymentIntentGroup(input: {
        project: "alpha", compositeApp: "shop", compositeProfile: "default", name: "g2",
        logicalCluster: "nope", clusters: [{ provider: "prov", name: "c1" }, { provider: "prov", name: "ghost" }] }) { id } }`);
      expect(codes(res)).toEqual(['NOT_FOUND']);
      expect(res.errors![0].message).toContain('LogicalCluster alpha/nope');
      expect(res.errors![0].message).toContain('Cluster prov/ghost');
      expect(await count()).toBe(n);
    });

    it('updates: omitted fields stay, explicit null clears, version grows by one, history keeps every version', async () => {
      const { updateDeploymentIntentGroup: u1 } = await s.ok(
        `mutation($id: ID!) { updateDeploymentIntentGroup(id: $id, input: { description: "d1" }, expectedVersion: 1) { version description logicalCluster { name } clusters { name } } }`,
        { id: group.id },
      );
      expect(u1).toEqual({ version: 2, description: 'd1', logicalCluster: { name: 'lc' }, clusters: [{ name: 'c2' }, { name: 'c1' }] });
      const { updateDeploymentIntentGroup: u2 } = await s.ok(
        `mutation($id: ID!) { updateDeploymentIntentGroup(id: $id, input: { logicalCluster: null, clusters: [{ provider: "prov", name: "c1" }] }) { version description logicalCluster { name } clusters { name } } }`,
        { id: group.id },
      );
      expect(u2).toEqual({ version: 3, description: 'd1', logicalCluster: null, clusters: [{ name: 'c1' }] });
      const { resource } = await s.ok(`query($id: ID!) { resource(id: $id) { version history { version validFrom validTo content } } }`, {
        id: group.id,
      });
      expect(resource.history.map((h: any) => h.version)).toEqual([3, 2, 1]);
      expect(resource.history[0].validTo).toBeNull();
      expect(resource.history[1].validTo).toBe(resource.history[0].validFrom);
      expect(resource.history[2].validTo).toBe(resource.history[1].validFrom);
      expect(resource.history[2].content).toEqual({
        project: 'alpha',
        compositeApp: 'shop',
        compositeProfile: 'default',
        name: 'g1',
        logicalCluster: 'lc',
        clusters: [
          { provider: 'prov', name: 'c2' },
          { provider: 'prov', name: 'c1' },
        ],
      });
      expect(resource.history[0].content).not.toHaveProperty('logicalCluster');
      // the reference index followed the update
      const { clusterProvider } = await s.ok(`{ clusterProvider(name: "prov") { clusters { name referencedBy { path } } } }`);
      expect(clusterProvider.clusters.map((c: any) => [c.name, c.referencedBy.map((r: any) => r.path)])).toEqual([
        ['c1', ['clusters[0]']],
        ['c2', []],
      ]);
    });

    it('answers asOf with the version current at that instant', async () => {
      const { resource } = await s.ok(`query($id: ID!) { resource(id: $id) { createdAt history { version validFrom } } }`, {
        id: group.id,
      });
      const [v3, v2, v1] = resource.history;
      const ask = async (at: string) =>
        (await s.ok(`query($id: ID!, $at: DateTime!) { resource(id: $id) { asOf(at: $at) { version } } }`, { id: group.id, at })).resource
          .asOf;
      expect(await ask(v1.validFrom)).toEqual({ version: 1 });
      expect(await ask(v2.validFrom)).toEqual({ version: 2 });
      expect(await ask(v3.validFrom)).toEqual({ version: 3 });
      expect(await ask('2100-01-01T00:00:00Z')).toEqual({ version: 3 });
      expect(await ask('2000-01-01T00:00:00+02:00')).toBeNull();
      const bad = await s.gql(`query($id: ID!) { resource(id: $id) { asOf(at: "yesterday") { version } } }`, { id: group.id });
      expect(codes(bad)).toEqual(['BAD_USER_INPUT']);
    });

    it('refuses a stale expectedVersion with VERSION_CONFLICT and changes nothing', async () => {
      const res = await s.gql(
        `mutation($id: ID!) { updateDeploymentIntentGroup(id: $id, input: { description: "late" }, expectedVersion: 1) { version } }`,
        {
          id: group.id,
        },
      );
      expect(codes(res)).toEqual(['VERSION_CONFLICT']);
      const { resource } = await s.ok(`query($id: ID!) { resource(id: $id) { version ... on DeploymentIntentGroup { description } } }`, {
        id: group.id,
      });
      expect(resource).toEqual({ version: 3, description: 'd1' });
    });

    it('refuses an update of an unknown id or of another kind with NOT_FOUND', async () => {
      const unknown = await s.gql(`mutation { updateCluster(id: "00000000-0000-7000-8000-000000000000", input: { labels: [] }) { id } }`);
      expect(codes(unknown)).toEqual(['NOT_FOUND']);
      const wrongKind = await s.gql(`mutation($id: ID!) { updateCluster(id: $id, input: { labels: [] }) { id } }`, { id: group.id });
      expect(codes(wrongKind)).toEqual(['NOT_FOUND']);
    });

    it("finds a group by natural key and lists a project's groups", async () => {
      const { deploymentIntentGroup, deploymentIntentGroups } = await s.ok(`{
        deploymentIntentGroup(project: "alpha", compositeApp: "shop", compositeProfile: "default", name: "g1") { id }
        deploymentIntentGroups(project: "alpha") { id }
      }`);
      expect(deploymentIntentGroup.id).toBe(group.id);
      expect(deploymentIntentGroups).toEqual([{ id: group.id }]);
      const other = await s.ok(
        `{ deploymentIntentGroups(project: "alph") { id } none: deploymentIntentGroup(project: "alpha", compositeApp: "shop", compositeProfile: "default", name: "zz") { id } }`,
      );
      expect(other).toEqual({ deploymentIntentGroups: [], none: null });
    });
  });

  it('pages through projects in a stable order and refuses pages above 1000', async () => {
    for (let i = 0; i < 5; i++) await s.ok(`mutation { createProject(input: { name: "page-${i}" }) { id } }`);
    const all = (await s.ok(`{ projects(first: 1000) { id name } }`)).projects;
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: { id: string }[] = (await s.ok(`query($after: ID) { projects(first: 2, after: $after) { id } }`, { after })).projects;
      if (!page.length) break;
      seen.push(...page.map((p) => p.id));
      after = page[page.length - 1].id;
    }
    expect(seen).toEqual(all.map((p: any) => p.id));
    expect(codes(await s.gql(`{ projects(first: 1001) { id } }`))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await s.gql(`{ projects(first: -1) { id } }`))).toEqual(['BAD_USER_INPUT']);
    // Nested lists too (api-contract: above 1000 is refused), checked before anything runs: whether
    // the parent exists does not matter.
    expect(codes(await s.gql(`{ resource(id: "x") { history(first: 5000) { version } } }`))).toEqual(['BAD_USER_INPUT']);
    expect(await s.ok(`{ resource(id: "x") { history(first: 1000) { version } } }`)).toEqual({ resource: null });
  });
});
