import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatements } from '../src/data/statement-log.js';
import { codes, startTestServer, type TestServer } from './support/server.js';
import { OPERATIONAL_KINDS } from './support/stores.js';
import { as, jwtEnv, SCOPES } from './support/tokens.js';

const ids = async (s: TestServer, headers: Record<string, string>) => {
  const q = `{
    retail: project(name: "retail") { id billingAccount { id } }
    logistics: project(name: "logistics") { id billingAccount { id } logicalClusters { id } }
    tracker: deploymentIntentGroup(project: "logistics", compositeApp: "tracker", compositeProfile: "default", name: "tracker-prod") { id owner { id } }
    prodEast: deploymentIntentGroup(project: "retail", compositeApp: "storefront", compositeProfile: "default", name: "prod-east") { id owner { id } }
    edgeWest: clusterProvider(name: "edge-west") { id clusters { id name } }
    edgeEast: clusterProvider(name: "edge-east") { id clusters { id name } }
  }`;
  return s.ok<any>(q, {}, headers);
};

describe.each(OPERATIONAL_KINDS)('tenancy: a projects claim confines reads and writes (%s)', (kind) => {
  let s: TestServer;
  let admin: Record<string, string>;
  let rita: Record<string, string>; // every scope, confined to retail
  let known: any;
  beforeAll(async () => {
    s = await startTestServer(kind, { env: jwtEnv(), seedDemo: true });
    admin = await as('root', SCOPES);
    rita = await as('rita', SCOPES, ['retail']);
    known = await ids(s, admin);
    // State the confined caller must not see: an approval and marks in logistics, a marked shared cluster it refers to.
    await s.ok(`mutation { approveDeploymentIntentGroup(id: "${known.tracker.id}") { id } }`, {}, admin);
    const west2 = known.edgeWest.clusters.find((c: any) => c.name === 'west-2').id;
    await s.ok(`mutation { markForDeletion(id: "${west2}") { marked { id } } }`, {}, admin);
    await s.ok(`mutation { markForDeletion(id: "${known.logistics.logicalClusters[0].id}") { marked { id } } }`, {}, admin);
  });
  afterAll(() => s?.close());

  it('lists and lookups by name or id leave other projects out, filtered inside the SQL statement', async () => {
    const { res, statements } = await s.countedGql('{ projects { name } }', undefined);
    // Without a token: refused before any store is read.
    expect(codes(res)).toEqual(['UNAUTHENTICATED']);
    expect(statements).toEqual([]);
    expect(await s.ok('{ projects { name } }', {}, rita)).toEqual({ projects: [{ name: 'retail' }] });
    const other = await s.ok<any>(
      `{ project(name: "logistics") { id }
         resource(id: "${known.logistics.id}") { id }
         deploymentIntentGroup(project: "logistics", compositeApp: "tracker", compositeProfile: "default", name: "tracker-prod") { id }
         deploymentIntentGroups(project: "logistics") { id } }`,
      {},
      rita,
    );
    expect(other).toEqual({ project: null, resource: null, deploymentIntentGroup: null, deploymentIntentGroups: [] });
    // Shared infrastructure stays readable.
    const shared = await s.ok<any>('{ clusterProvider(name: "edge-east") { name clusters { name } } }', {}, rita);
    expect(shared.clusterProvider.clusters.map((c: any) => c.name)).toEqual(['east-1', 'east-2', 'east-3']);
    // The condition is in the statement that reads, not applied to rows afterwards.
    const { result, statements: read } = await countStatements(s.app.db.statementLog, () => s.gql('{ projects { name } }', {}, rita));
    expect(result.data).toEqual({ projects: [{ name: 'retail' }] });
    expect(read.some((q) => /FROM resource WHERE kind = \? AND \(.*natural_key >= \? AND resource\.natural_key < \?/s.test(q))).toBe(true);
  });

  it('connections page and count only what the caller may read; a cursor does not cross into another project', async () => {
    const all = await s.ok<any>(
      '{ projectsConnection(first: 10) { totalCount } compositeAppsConnection(first: 10) { totalCount } }',
      {},
      admin,
    );
    expect(all.projectsConnection.totalCount).toBeGreaterThan(1);
    const mine = await s.ok<any>(
      `{ projectsConnection(first: 10) { totalCount edges { node { name } } }
         compositeAppsConnection(first: 10) { totalCount edges { node { project { name } } } }
         other: compositeAppsConnection(project: "logistics", first: 10) { totalCount edges { cursor } pageInfo { hasNextPage } } }`,
      {},
      rita,
    );
    expect(mine.projectsConnection).toEqual({ totalCount: 1, edges: [{ node: { name: 'retail' } }] });
    expect(mine.compositeAppsConnection.totalCount).toBe(mine.compositeAppsConnection.edges.length);
    expect(mine.compositeAppsConnection.totalCount).toBeLessThan(all.compositeAppsConnection.totalCount);
    expect(new Set(mine.compositeAppsConnection.edges.map((e: any) => e.node.project.name))).toEqual(new Set(['retail']));
    expect(mine.other).toEqual({ totalCount: 0, edges: [], pageInfo: { hasNextPage: false } });
  });

  it('referencedBy, _entities, remote references and approvals of other projects do not leak', async () => {
    const east2 = known.edgeEast.clusters.find((c: any) => c.name === 'east-2').id;
    const q = `query ($id: ID!) { resource(id: $id) { referencedBy { from { id } path } } }`;
    const seenByAdmin = await s.ok<any>(q, { id: east2 }, admin);
    expect(seenByAdmin.resource.referencedBy.map((r: any) => r.from.id).sort()).toEqual([known.prodEast.id, known.tracker.id].sort());
    const seenByRita = await s.ok<any>(q, { id: east2 }, rita);
    expect(seenByRita.resource.referencedBy.map((r: any) => r.from.id)).toEqual([known.prodEast.id]);

    const entities =
      'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Project { name } ... on DeploymentIntentGroup { name } } }';
    const reps = {
      r: [
        { __typename: 'Project', id: known.logistics.id },
        { __typename: 'Project', id: known.retail.id },
        { __typename: 'DeploymentIntentGroup', id: known.tracker.id },
      ],
    };
    expect(await s.ok(entities, reps, rita)).toEqual({ _entities: [null, { name: 'retail' }, null] });

    const refs = `{ other: remoteReference(id: "${known.tracker.owner.id}") { id } own: remoteReference(id: "${known.prodEast.owner.id}") { id } }`;
    expect(await s.ok(refs, {}, rita)).toEqual({ other: null, own: { id: known.prodEast.owner.id } });

    const { deploymentIntentGroup } = await s.ok<any>(
      `{ deploymentIntentGroup(project: "logistics", compositeApp: "tracker", compositeProfile: "default", name: "tracker-prod") { approval { id } } }`,
      {},
      admin,
    );
    expect(await s.ok(`{ approval(id: "${deploymentIntentGroup.approval.id}") { id } }`, {}, rita)).toEqual({ approval: null });
  });

  it('deletionQueue shows only readable marked resources, without blockers or pins from other projects', async () => {
    const q = '{ deletionQueue(first: 100) { resource { id kind } blockers(first: 10) { from { id } } pinnedBy(first: 10) { id } } }';
    const all = (await s.ok<any>(q, {}, admin)).deletionQueue;
    const west2 = known.edgeWest.clusters.find((c: any) => c.name === 'west-2').id;
    const adminWest2 = all.find((c: any) => c.resource.id === west2);
    expect(adminWest2.blockers.map((b: any) => b.from.id)).toEqual([known.tracker.id]);
    expect(adminWest2.pinnedBy).toHaveLength(1);
    expect(all.find((c: any) => c.resource.kind === 'LogicalCluster').blockers.map((b: any) => b.from.id)).toEqual([known.tracker.id]);

    const mine = (await s.ok<any>(q, {}, rita)).deletionQueue;
    expect(mine.map((c: any) => c.resource.id)).toEqual([west2]);
    expect(mine[0]).toMatchObject({ blockers: [], pinnedBy: [] });
  });

  it('writes to other projects read as NOT_FOUND (by id), creates outside the claim and shared infrastructure are FORBIDDEN; nothing changes; own project works', async () => {
    const west1 = known.edgeWest.clusters.find((c: any) => c.name === 'west-1').id;
    // Resources of other projects are not there for this caller: the same NOT_FOUND as an id that never existed.
    const hidden = [
      `mutation { updateProject(id: "${known.logistics.id}", input: { description: "mine now" }) { id } }`,
      `mutation { markForDeletion(id: "${known.logistics.id}") { marked { id } } }`,
      `mutation { cancelDeletion(id: "${known.logistics.logicalClusters[0].id}") { id } }`,
      `mutation { approveDeploymentIntentGroup(id: "${known.tracker.id}") { id } }`,
    ];
    for (const m of hidden) expect(codes(await s.gql(m, {}, rita)), m).toEqual(['NOT_FOUND']);
    // Decided on the token's claim alone (nothing is read first), so these say nothing of what exists.
    const refused = [
      `mutation { createCompositeApp(input: { project: "logistics", name: "sneaky" }) { id } }`,
      `mutation { createProject(input: { name: "newco" }) { id } }`,
      `mutation { createCluster(input: { provider: "edge-west", name: "west-9" }) { id } }`,
      `mutation { updateCluster(id: "${west1}", input: { labels: ["mine"] }) { id } }`,
      `mutation { markForDeletion(id: "${west1}") { marked { id } } }`,
      `mutation { collectGarbage(dryRun: true) { deleted } }`,
      `mutation { pruneHistory(keepLast: 1) { versionsDeleted } }`,
    ];
    for (const m of refused) expect(codes(await s.gql(m, {}, rita)), m).toEqual(['FORBIDDEN']);
    const { approval } = (
      await s.ok<any>(
        `{ deploymentIntentGroup(project: "logistics", compositeApp: "tracker", compositeProfile: "default", name: "tracker-prod") { approval { id } } }`,
        {},
        admin,
      )
    ).deploymentIntentGroup;
    expect(codes(await s.gql(`mutation { revokeApproval(id: "${approval.id}") { id } }`, {}, rita))).toEqual(['NOT_FOUND']);

    const after = await s.ok<any>(
      `{ project(name: "logistics") { version description logicalClusters { name status } } newco: project(name: "newco") { id } }`,
      {},
      admin,
    );
    expect(after).toEqual({
      project: { version: 1, description: 'Parcel tracking', logicalClusters: [{ name: 'lc-all', status: 'MARKED_FOR_DELETION' }] },
      newco: null,
    });
    const own = await s.ok<any>(
      `mutation { updateProject(id: "${known.retail.id}", input: { description: "ours" }) { version } createCompositeApp(input: { project: "retail", name: "loyalty" }) { name } }`,
      {},
      rita,
    );
    expect(own).toEqual({ updateProject: { version: 2 }, createCompositeApp: { name: 'loyalty' } });
  });

  it('compares project names byte for byte: a token for "retail" does not open "Retail" or "retail-eu"', async () => {
    for (const name of ['Retail', 'retail-eu', 'retai']) {
      await s.ok(`mutation { createProject(input: { name: "${name}" }) { id } }`, {}, admin);
      await s.ok(`mutation { createCompositeApp(input: { project: "${name}", name: "shop" }) { id } }`, {}, admin);
    }
    const seen = await s.ok<any>(
      `{ projects { name } upper: project(name: "Retail") { id compositeApps { name } } eu: project(name: "retail-eu") { id } short: project(name: "retai") { id } }`,
      {},
      rita,
    );
    expect(seen).toEqual({ projects: [{ name: 'retail' }], upper: null, eu: null, short: null });
    expect(codes(await s.gql(`mutation { createCompositeApp(input: { project: "Retail", name: "other" }) { id } }`, {}, rita))).toEqual([
      'FORBIDDEN',
    ]);
  });

  it("finding 4: another project's resource answers exactly as one that does not exist, and no message names it", async () => {
    const { deploymentIntentGroup: dig } = await s.ok<any>(
      `{ deploymentIntentGroup(project: "logistics", compositeApp: "tracker", compositeProfile: "default", name: "tracker-prod") { approval { id } } }`,
      {},
      admin,
    );
    const absent = '00000000-0000-4000-8000-000000000000';
    const byId: Array<(id: string) => string> = [
      (id) => `mutation { updateProject(id: "${id}", input: { description: "x" }) { id } }`,
      (id) => `mutation { updateDeploymentIntentGroup(id: "${id}", input: { description: "x" }) { id } }`,
      (id) => `mutation { markForDeletion(id: "${id}") { marked { id } } }`,
      (id) => `mutation { cancelDeletion(id: "${id}") { id } }`,
      (id) => `mutation { approveDeploymentIntentGroup(id: "${id}") { id } }`,
      (id) => `mutation { revokeApproval(id: "${id}") { id } }`,
      (id) => `{ resource(id: "${id}") { id } approval(id: "${id}") { id } remoteReference(id: "${id}") { id } }`,
    ];
    const targets = [known.logistics.id, known.tracker.id, known.logistics.logicalClusters[0].id, dig.approval.id, known.tracker.owner.id];
    const secret = /logistics|tracker|lc-all|parcel/i;
    for (const op of byId) {
      const reference = await s.gql(op(absent), {}, rita);
      for (const id of targets) {
        const res = await s.gql(op(id), {}, rita);
        const shape = (r: typeof res) => ({
          data: r.data ?? null,
          errors: (r.errors ?? []).map((e) => ({
            code: e.extensions?.code,
            message: e.message.replaceAll(id, '<id>').replaceAll(absent, '<id>'),
          })),
        });
        expect(shape(res), op(id)).toEqual(shape(reference));
        expect(JSON.stringify(res), op(id)).not.toMatch(secret);
      }
    }
    // By natural key, in writes and in references of inputs: the same answer whether the name exists in another project or nowhere.
    const byName: Array<(project: string) => string> = [
      (p) => `mutation { createProject(input: { name: "${p}" }) { id } }`,
      (p) => `mutation { createCompositeApp(input: { project: "${p}", name: "tracker" }) { id } }`,
      (p) => `mutation { createLogicalCluster(input: { project: "${p}", name: "lc-all" }) { id } }`,
      (p) =>
        `mutation { createDeploymentIntentGroup(input: { project: "${p}", compositeApp: "tracker", compositeProfile: "default", name: "tracker-prod" }) { id } }`,
    ];
    for (const op of byName) {
      const existing = await s.gql(op('logistics'), {}, rita);
      const nowhere = await s.gql(op('no-such-project'), {}, rita);
      expect(codes(existing), op('logistics')).toEqual(codes(nowhere));
      expect(codes(existing), op('logistics')).not.toContain('ALREADY_EXISTS');
      expect(existing.errors![0].message.replaceAll('logistics', 'no-such-project')).toEqual(nowhere.errors![0].message);
      expect(JSON.stringify(existing)).not.toMatch(secret);
    }
  });
});

describe.each(OPERATIONAL_KINDS)('audit: who did what (%s)', (kind) => {
  let s: TestServer;
  const lines: Record<string, unknown>[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    s = await startTestServer(kind, { env: jwtEnv(), seedDemo: true, log: pino({ level: 'info' }, sink) });
  });
  afterAll(() => s?.close());

  it('records changedBy, markedForDeletionBy, approvedBy and revokedBy by token subject, in the same writes', async () => {
    const alice = await as('alice', SCOPES);
    const bob = await as('bob', SCOPES);
    const { createProject } = await s.ok<any>('mutation { createProject(input: { name: "audited" }) { id } }', {}, alice);
    await s.ok(`mutation { updateProject(id: "${createProject.id}", input: { description: "by bob" }) { id } }`, {}, bob);
    await s.ok('mutation { createCompositeApp(input: { project: "audited", name: "app" }) { id } }', {}, alice);
    const history = await s.ok<any>(`{ project(name: "audited") { history { version changedBy } } }`, {}, alice);
    expect(history.project.history).toEqual([
      { version: 2, changedBy: 'bob' },
      { version: 1, changedBy: 'alice' },
    ]);

    const marked = await s.ok<any>(
      `mutation { markForDeletion(id: "${createProject.id}") { resource { markedForDeletionBy } marked { kind markedForDeletionBy } } }`,
      {},
      bob,
    );
    expect(marked.markForDeletion.resource.markedForDeletionBy).toBe('bob');
    expect(marked.markForDeletion.marked.map((m: any) => m.markedForDeletionBy)).toEqual(['bob', 'bob']);
    const read = await s.ok<any>(`{ project(name: "audited") { markedForDeletionBy compositeApps { markedForDeletionBy } } }`, {}, alice);
    expect(read.project).toEqual({ markedForDeletionBy: 'bob', compositeApps: [{ markedForDeletionBy: 'bob' }] });
    const cancelled = await s.ok<any>(`mutation { cancelDeletion(id: "${createProject.id}") { markedForDeletionBy } }`, {}, alice);
    expect(cancelled.cancelDeletion.markedForDeletionBy).toBeNull();

    const group = (
      await s.ok<any>(
        '{ deploymentIntentGroup(project: "retail", compositeApp: "storefront", compositeProfile: "default", name: "prod-east") { id } }',
        {},
        alice,
      )
    ).deploymentIntentGroup.id;
    const first = (await s.ok<any>(`mutation { approveDeploymentIntentGroup(id: "${group}") { id approvedBy revokedBy } }`, {}, alice))
      .approveDeploymentIntentGroup;
    expect(first).toMatchObject({ approvedBy: 'alice', revokedBy: null });
    const second = (await s.ok<any>(`mutation { approveDeploymentIntentGroup(id: "${group}") { id approvedBy } }`, {}, bob))
      .approveDeploymentIntentGroup;
    expect(second.approvedBy).toBe('bob');
    const replaced = await s.ok<any>(`{ approval(id: "${first.id}") { approvedBy revokedBy revokedAt } }`, {}, alice);
    expect(replaced.approval).toMatchObject({ approvedBy: 'alice', revokedBy: 'bob' });
    const revoked = await s.ok<any>(`mutation { revokeApproval(id: "${second.id}") { approvedBy revokedBy } }`, {}, alice);
    expect(revoked.revokeApproval).toEqual({ approvedBy: 'bob', revokedBy: 'alice' });
  });

  it('maintenance runs log who triggered them', async () => {
    await s.ok(
      'mutation { collectGarbage(dryRun: true) { dryRun } pruneHistory(keepLast: 5) { versionsDeleted } }',
      {},
      await as('ops-carol', ['integrity:admin']),
    );
    expect(lines).toContainEqual(expect.objectContaining({ job: 'collectGarbage', trigger: 'api', subject: 'ops-carol', dryRun: true }));
    expect(lines).toContainEqual(
      expect.objectContaining({ job: 'pruneHistory', trigger: 'api', subject: 'ops-carol', msg: 'history pruning done' }),
    );
  });
});
