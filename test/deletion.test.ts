import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseManager } from '../src/maintenance/lease.js';
import { OPERATIONAL_KINDS } from './support/stores.js';
import { codes, startTestServer, type TestServer } from './support/server.js';

const MARK = `mutation($id: ID!) { markForDeletion(id: $id) {
  resource { id status markedForDeletionAt deleteAfter }
  marked { id kind }
  blockers { type path from { id kind } to { id kind } } } }`;
const GC = `mutation($dry: Boolean) { collectGarbage(dryRun: $dry) {
  dryRun deleted archived orphanRemoteRefsDeleted
  blocked(first: 100) { resource { id kind } deleteAfter blockers(first: 10) { path from { id } } pinnedBy(first: 10) { id } } } }`;

describe.each(OPERATIONAL_KINDS)('deletion lifecycle on %s', (store) => {
  let s: TestServer;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    s = await startTestServer(store, { env: { RETENTION_SECONDS: '0' } });
    const r = await s.ok(`mutation {
      prov: createClusterProvider(input: { name: "prov" }) { id }
      c1: createCluster(input: { provider: "prov", name: "c1" }) { id }
      c2: createCluster(input: { provider: "prov", name: "c2" }) { id }
      c3: createCluster(input: { provider: "prov", name: "c3" }) { id }
      p: createProject(input: { name: "shop", billingAccount: { number: "ACC-1002", owner: "e-1" } }) { id }
      lc: createLogicalCluster(input: { project: "shop", name: "lc" }) { id }
      app: createCompositeApp(input: { project: "shop", name: "web" }) { id }
      prof: createCompositeProfile(input: { project: "shop", compositeApp: "web", name: "default" }) { id }
      g: createDeploymentIntentGroup(input: { project: "shop", compositeApp: "web", compositeProfile: "default", name: "g",
           logicalCluster: "lc", clusters: [{ provider: "prov", name: "c1" }], owner: { employeeId: "e-9" } }) { id }
      other: createProject(input: { name: "other" }) { id }
      oapp: createCompositeApp(input: { project: "other", name: "api" }) { id }
      oprof: createCompositeProfile(input: { project: "other", compositeApp: "api", name: "default" }) { id }
      og: createDeploymentIntentGroup(input: { project: "other", compositeApp: "api", compositeProfile: "default", name: "og",
           clusters: [{ provider: "prov", name: "c2" }] }) { id }
    }`);
    for (const [k, v] of Object.entries(r)) ids[k] = (v as { id: string }).id;
  });
  afterAll(async () => {
    await s?.close();
  });

  const exists = async (id: string) => (await s.ok(`query($id: ID!) { resource(id: $id) { id } }`, { id })).resource !== null;

  it('marks a cluster referenced from outside, names the blocker, and refuses new references to it', async () => {
    const { markForDeletion: m } = await s.ok(MARK, { id: ids.c2 });
    expect(m.resource.status).toBe('MARKED_FOR_DELETION');
    expect(m.resource.deleteAfter).toBe(m.resource.markedForDeletionAt);
    expect(m.marked).toEqual([{ id: ids.c2, kind: 'Cluster' }]);
    expect(m.blockers).toEqual([
      { type: 'ARBITRARY', path: 'clusters[0]', from: { id: ids.og, kind: 'DeploymentIntentGroup' }, to: { id: ids.c2, kind: 'Cluster' } },
    ]);

    const create =
      await s.gql(`mutation { createDeploymentIntentGroup(input: { project: "other", compositeApp: "api", compositeProfile: "default",
      name: "new", clusters: [{ provider: "prov", name: "c3" }, { provider: "prov", name: "c2" }] }) { id } }`);
    expect(codes(create)).toEqual(['REFERENCES_MARKED_RESOURCE']);
    expect(create.errors![0].message).toContain('Cluster prov/c2');
    expect(create.errors![0].message).not.toContain('c3');

    const addRef = await s.gql(
      `mutation($id: ID!) { updateDeploymentIntentGroup(id: $id, input: { clusters: [{ provider: "prov", name: "c1" }, { provider: "prov", name: "c2" }] }) { id } }`,
      { id: ids.g },
    );
    expect(codes(addRef)).toEqual(['REFERENCES_MARKED_RESOURCE']);

    const readOnly = await s.gql(`mutation($id: ID!) { updateCluster(id: $id, input: { labels: ["x"] }) { id } }`, { id: ids.c2 });
    expect(codes(readOnly)).toEqual(['RESOURCE_MARKED_FOR_DELETION']);

    // existing referrers keep working for reads…
    const read = await s.ok(`query($id: ID!) { resource(id: $id) { ... on DeploymentIntentGroup { version clusters { name status } } } }`, {
      id: ids.og,
    });
    expect(read.resource).toEqual({ version: 1, clusters: [{ name: 'c2', status: 'MARKED_FOR_DELETION' }] });
  });

  it('freezes referrers of a marked resource for admins: every write that keeps the reference is refused, naming the marked target', async () => {
    const update = (input: string) =>
      s.gql(`mutation($id: ID!) { updateDeploymentIntentGroup(id: $id, input: ${input}) { id version } }`, { id: ids.og });
    for (const input of [
      '{ description: "still here" }', // an unrelated field
      '{ owner: { employeeId: "e-2" } }', // a remote reference
      '{ clusters: [{ provider: "prov", name: "c2" }] }', // no change at all
      '{ clusters: [{ provider: "prov", name: "c3" }, { provider: "prov", name: "c2" }] }', // reordered, one added
    ]) {
      const res = await update(input);
      expect(codes(res), input).toEqual(['REFERENCES_MARKED_RESOURCE']);
      expect(res.errors![0].message).toContain('Cluster prov/c2');
      expect(res.errors![0].extensions!.targets).toEqual([expect.objectContaining({ id: ids.c2, kind: 'Cluster' })]);
    }
    // Nothing changed, and the group still reads fine.
    const { resource } = await s.ok(
      `query($id: ID!) { resource(id: $id) { version ... on DeploymentIntentGroup { description owner { key } clusters { name } } } }`,
      { id: ids.og },
    );
    expect(resource).toEqual({ version: 1, description: null, owner: null, clusters: [{ name: 'c2' }] });
    // Approving it covers a marked resource: refused as well.
    expect(codes(await s.gql(`mutation($id: ID!) { approveDeploymentIntentGroup(id: $id) { id } }`, { id: ids.og }))).toEqual([
      'REFERENCES_MARKED_RESOURCE',
    ]);
  });

  it('keeps a referenced resource through collection and reports why', async () => {
    const { collectGarbage: gc } = await s.ok(GC);
    expect(gc.deleted).not.toContain(ids.c2);
    const blocked = gc.blocked.find((b: any) => b.resource.id === ids.c2);
    expect(blocked.blockers).toEqual([{ path: 'clusters[0]', from: { id: ids.og } }]);
    expect(await exists(ids.c2)).toBe(true);
    const { deletionQueue } = await s.ok(`{ deletionQueue(first: 10) { resource { id } blockers(first: 10) { path } } }`);
    expect(deletionQueue).toEqual([{ resource: { id: ids.c2 }, blockers: [{ path: 'clusters[0]' }] }]);
  });

  it('collects it once the referrer lets go (dereferencing is always allowed)', async () => {
    await s.ok(`mutation($id: ID!) { updateDeploymentIntentGroup(id: $id, input: { clusters: [] }) { id } }`, { id: ids.og });
    const dry = (await s.ok(GC, { dry: true })).collectGarbage;
    expect(dry).toMatchObject({ dryRun: true, deleted: [ids.c2], archived: 1 });
    expect(await exists(ids.c2)).toBe(true);
    const gc = (await s.ok(GC)).collectGarbage;
    expect(gc).toMatchObject({ dryRun: false, deleted: [ids.c2], archived: 1, blocked: [] });
    expect(await exists(ids.c2)).toBe(false);
    const [archived] = await s.app.db.query<{ document: string }>('SELECT document FROM archive WHERE resource_id = ?', [ids.c2]);
    const doc = JSON.parse(archived.document);
    expect(doc.resource).toMatchObject({ id: ids.c2, kind: 'Cluster', naturalKey: '["prov","c2"]' });
    expect(doc.history.map((h: any) => h.version)).toEqual([1]);
    expect(doc.references).toEqual([{ path: 'parent', toId: ids.prov, type: 'CHILD' }]);
  });

  it('marks a whole project subtree as one mark; references inside the subtree do not block', async () => {
    const { markForDeletion: m } = await s.ok(MARK, { id: ids.p });
    expect(m.marked.map((r: any) => r.kind).sort()).toEqual([
      'CompositeApp',
      'CompositeProfile',
      'DeploymentIntentGroup',
      'LogicalCluster',
      'Project',
    ]);
    expect(m.blockers).toEqual([]);
    // a new child under a marked parent is a new reference to it
    const child = await s.gql(`mutation { createCompositeApp(input: { project: "shop", name: "late" }) { id } }`);
    expect(codes(child)).toEqual(['REFERENCES_MARKED_RESOURCE']);
  });

  it('cancelDeletion undoes exactly one mark', async () => {
    const { cancelDeletion } = await s.ok(`mutation($id: ID!) { cancelDeletion(id: $id) { id status deleteAfter } }`, { id: ids.app });
    expect(cancelDeletion).toEqual({ id: ids.app, status: 'ACTIVE', deleteAfter: null });
    const { project } = await s.ok(
      `{ project(name: "shop") { status compositeApps(first: 10) { status profiles(first: 10) { status deploymentIntentGroups(first: 10) { status } } } logicalClusters(first: 10) { status } } }`,
    );
    expect(project).toEqual({
      status: 'ACTIVE',
      compositeApps: [{ status: 'ACTIVE', profiles: [{ status: 'ACTIVE', deploymentIntentGroups: [{ status: 'ACTIVE' }] }] }],
      logicalClusters: [{ status: 'ACTIVE' }],
    });
    const notMarked = await s.gql(`mutation($id: ID!) { cancelDeletion(id: $id) { id } }`, { id: ids.p });
    expect(codes(notMarked)).toEqual(['BAD_USER_INPUT']);
  });

  it('collects the cascade, archives non-personal kinds only, and removes orphaned remote references', async () => {
    await s.ok(MARK, { id: ids.p });
    const before = Number((await s.app.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM remote_ref'))[0].n);
    const gc = (await s.ok(GC)).collectGarbage;
    expect(new Set(gc.deleted)).toEqual(new Set([ids.p, ids.lc, ids.app, ids.prof, ids.g]));
    expect(gc.archived).toBe(4); // the deployment group is personal
    expect(gc.orphanRemoteRefsDeleted).toBe(2); // e-9 and the billing account
    expect(Number((await s.app.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM remote_ref'))[0].n)).toBe(before - 2);
    const archived = await s.app.db.query<{ kind: string }>('SELECT kind FROM archive WHERE resource_id IN (?, ?, ?, ?, ?)', [
      ids.p,
      ids.lc,
      ids.app,
      ids.prof,
      ids.g,
    ]);
    expect(archived.map((a) => a.kind).sort()).toEqual(['CompositeApp', 'CompositeProfile', 'LogicalCluster', 'Project']);
    for (const id of [ids.p, ids.g]) expect(await exists(id)).toBe(false);
    // c1 was referenced only by the collected group: still there, still active, no referrers left
    const { resource } = await s.ok(`query($id: ID!) { resource(id: $id) { status referencedBy(first: 10) { path } } }`, { id: ids.c1 });
    expect(resource).toEqual({ status: 'ACTIVE', referencedBy: [] });
  });

  it('keeps a parent while a child is referenced from outside, and refuses to cancel a partly collected mark', async () => {
    const r = await s.ok(`mutation {
      q: createClusterProvider(input: { name: "q" }) { id }
      k1: createCluster(input: { provider: "q", name: "k1" }) { id }
      k2: createCluster(input: { provider: "q", name: "k2" }) { id }
      user: createDeploymentIntentGroup(input: { project: "other", compositeApp: "api", compositeProfile: "default", name: "user", clusters: [{ provider: "q", name: "k1" }] }) { id }
    }`);
    const { markForDeletion: m } = await s.ok(MARK, { id: r.q.id });
    expect(m.marked).toHaveLength(3);
    expect(m.blockers.map((b: any) => [b.path, b.to.id])).toEqual([['clusters[0]', r.k1.id]]);
    const gc = (await s.ok(GC)).collectGarbage;
    expect(gc.deleted).toEqual([r.k2.id]);
    expect(gc.blocked.map((b: any) => b.resource.id).sort()).toEqual([r.q.id, r.k1.id].sort());
    const parent = gc.blocked.find((b: any) => b.resource.id === r.q.id);
    expect(parent.blockers).toEqual([{ path: 'parent', from: { id: r.k1.id } }]);
    const cancel = await s.gql(`mutation($id: ID!) { cancelDeletion(id: $id) { id } }`, { id: r.q.id });
    expect(codes(cancel)).toEqual(['BAD_USER_INPUT']);
    expect(cancel.errors![0].message).toContain('already been collected');
  });

  it('prunes history by count and by age, never the current version', async () => {
    const { createCluster: c } = await s.ok(`mutation { createCluster(input: { provider: "prov", name: "hist" }) { id } }`);
    for (let i = 1; i <= 5; i++)
      await s.ok(`mutation($id: ID!) { updateCluster(id: $id, input: { labels: ["v${i}"] }) { id } }`, { id: c.id });
    const versions = async () =>
      (await s.ok(`query($id: ID!) { resource(id: $id) { history(first: 100) { version validFrom } } }`, { id: c.id })).resource.history;
    expect((await versions()).map((h: any) => h.version)).toEqual([6, 5, 4, 3, 2, 1]);
    const byCount = await s.ok(`mutation { pruneHistory(keepLast: 4) { versionsDeleted versionsKeptForApprovals } }`);
    expect(byCount.pruneHistory.versionsDeleted).toBeGreaterThanOrEqual(2);
    expect((await versions()).map((h: any) => h.version)).toEqual([6, 5, 4, 3]);
    const v4 = (await versions()).find((h: any) => h.version === 5).validFrom; // v4 ended when v5 began
    await s.ok(`mutation($t: DateTime) { pruneHistory(olderThan: $t) { versionsDeleted } }`, { t: v4 });
    expect((await versions()).map((h: any) => h.version)).toEqual([6, 5, 4]);
    await s.ok(`mutation { pruneHistory(olderThan: "2999-01-01T00:00:00Z") { versionsDeleted } }`);
    expect((await versions()).map((h: any) => h.version)).toEqual([6]);
    expect(codes(await s.gql(`mutation { pruneHistory { versionsDeleted } }`))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await s.gql(`mutation { pruneHistory(keepLast: 0) { versionsDeleted } }`))).toEqual(['BAD_USER_INPUT']);
  });

  it('refuses to cancel a mark whose resources sit under a parent marked separately', async () => {
    const r = await s.ok(`mutation {
      pp: createClusterProvider(input: { name: "pp" }) { id }
      kk: createCluster(input: { provider: "pp", name: "kk" }) { id }
    }`);
    await s.ok(MARK, { id: r.kk.id });
    const { markForDeletion: parentMark } = await s.ok(MARK, { id: r.pp.id });
    expect(parentMark.marked).toEqual([{ id: r.pp.id, kind: 'ClusterProvider' }]); // the cluster keeps its own mark
    const refused = await s.gql(`mutation($id: ID!) { cancelDeletion(id: $id) { id } }`, { id: r.kk.id });
    expect(codes(refused)).toEqual(['BAD_USER_INPUT']);
    expect(refused.errors![0].message).toContain('ClusterProvider pp');
    await s.ok(`mutation($id: ID!) { cancelDeletion(id: $id) { id } }`, { id: r.pp.id });
    const { cancelDeletion } = await s.ok(`mutation($id: ID!) { cancelDeletion(id: $id) { status } }`, { id: r.kk.id });
    expect(cancelDeletion.status).toBe('ACTIVE');
  });

  it('refuses collectGarbage and pruneHistory at once with MAINTENANCE_BUSY while another replica holds the lease', async () => {
    const other = new LeaseManager(s.app.db, { holder: 'replica-other', ttlSeconds: 30 });
    const held = await other.runExclusive('maintenance', async () => {
      const [{ since }] = await s.app.db.query<{ since: string }>(`SELECT acquired_at AS since FROM lease WHERE name = 'maintenance'`);
      const gc = await s.gql(GC);
      const prune = await s.gql(`mutation { pruneHistory(keepLast: 1) { versionsDeleted } }`);
      return { since, gc, prune };
    });
    expect(held.ran).toBe(true);
    if (!held.ran) return;
    const { since, gc, prune } = held.result;
    const iso = `${since.replace(' ', 'T')}Z`;
    for (const res of [gc, prune]) {
      expect(codes(res)).toEqual(['MAINTENANCE_BUSY']);
      expect(res.errors![0].extensions).toMatchObject({ code: 'MAINTENANCE_BUSY', holder: 'replica-other', since: iso });
      expect(res.errors![0].message).toContain('replica-other');
    }
    // Free again: the operator's run goes ahead.
    expect(codes(await s.gql(GC, { dry: true }))).toEqual([]);
  });

  it('refuses unknown ids', async () => {
    const unknown = '00000000-0000-7000-8000-000000000000';
    expect(codes(await s.gql(MARK, { id: unknown }))).toEqual(['NOT_FOUND']);
    expect(codes(await s.gql(`mutation($id: ID!) { cancelDeletion(id: $id) { id } }`, { id: unknown }))).toEqual(['NOT_FOUND']);
  });
});

describe('retention', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite');
  });
  afterAll(async () => {
    await s?.close();
  });

  it("sets deleteAfter from the kind's retention and collects nothing before it", async () => {
    const { createClusterProvider: p } = await s.ok(`mutation { createClusterProvider(input: { name: "keep" }) { id } }`);
    const { markForDeletion: m } = await s.ok(MARK, { id: p.id });
    const span = Date.parse(m.resource.deleteAfter) - Date.parse(m.resource.markedForDeletionAt);
    expect(span).toBe(2592000 * 1000); // ClusterProvider: 30 days in schema/relationships.json
    const gc = (await s.ok(GC)).collectGarbage;
    expect(gc.deleted).toEqual([]);
    expect(gc.blocked).toEqual([
      { resource: { id: p.id, kind: 'ClusterProvider' }, deleteAfter: m.resource.deleteAfter, blockers: [], pinnedBy: [] },
    ]);
  });
});
