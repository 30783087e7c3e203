import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSchema } from '../src/server/schema.js';
import { startTestServer, type TestServer } from './support/server.js';
import { OPERATIONAL_KINDS } from './support/stores.js';
import { kindTypes, selectionOf } from './support/selections.js';

/**
 * After each write in a mutation operation, later fields read the written state (issue 17,
 * finding 12): sequences of writes and reads in ONE operation, each field's answer compared with
 * what it wrote and, for the last answer of each resource, with a fresh read by id in a separate
 * request. Every field of each kind two levels down (references, remote references, history,
 * approval, referencedBy) is read, generated from the served schema.
 */

const schema = buildSchema();
const fragments = kindTypes(schema).map((k) => `fragment F_${k.name} on ${k.name} { ${selectionOf(schema, k, 2)} }`);

/** An operation with the fragments it uses. */
const withFragments = (text: string) => `${text}\n${fragments.filter((f) => text.includes(`...${f.split(' ')[1]}`)).join('\n')}`;

type Answer = Record<string, any>;

describe.each(OPERATIONAL_KINDS)('after each write in a mutation operation, later fields read the written state on %s', (store) => {
  describe.each([
    ['compiled', '0'],
    ['interpreted', '1000000'],
  ])('%s execution', (_path, compileAfter) => {
    let s: TestServer;
    const at = new Date(Date.now() + 3_600_000).toISOString();
    const ids: Record<string, string> = {};

    beforeAll(async () => {
      s = await startTestServer(store, {
        seedDemo: true,
        env: {
          EXECUTION_COMPILE_AFTER: compileAfter,
          LIMIT_MAX_COST: String(Number.MAX_SAFE_INTEGER),
          LIMIT_MAX_DEPTH: '100',
          LIMIT_MAX_LIST_ITEMS: '1000000',
        },
      });
      const d = await s.ok(`{
        retail: project(name: "retail") { id compositeApps { id name } }
        logistics: project(name: "logistics") { id compositeApps { id name } }
        east: deploymentIntentGroup(project: "retail", compositeApp: "storefront", compositeProfile: "default", name: "prod-east") { id }
        west: deploymentIntentGroup(project: "retail", compositeApp: "storefront", compositeProfile: "default", name: "prod-west") { id }
        pay: deploymentIntentGroup(project: "retail", compositeApp: "payments", compositeProfile: "default", name: "payments-prod") { id }
        east1: _entities(representations: [{ __typename: "Cluster", provider: { name: "edge-east" }, name: "east-1" }]) { ... on Cluster { id } }
      }`);
      Object.assign(ids, {
        retail: d.retail.id,
        logistics: d.logistics.id,
        east: d.east.id,
        west: d.west.id,
        pay: d.pay.id,
        east1: d.east1[0].id,
      });
      ids.tracker = d.logistics.compositeApps.find((a: { name: string }) => a.name === 'tracker').id;
    });
    afterAll(async () => {
      await s?.close();
    });

    /** Runs one mutation operation; every answer of it is returned by alias. */
    const mutate = async (body: string): Promise<Answer> => {
      const res = await s.gql(withFragments(`mutation Sequence($at: DateTime!) {\n${body}\n}`), { at });
      expect(res.errors).toBeUndefined();
      return res.data!;
    };

    /** The resource as a fresh request reads it by id, with the same fields. */
    const fresh = async (kind: string, id: string): Promise<Answer> =>
      (
        await s.ok(withFragments(`query Fresh($id: ID!, $at: DateTime!) { resource(id: $id) { ... on ${kind} { ...F_${kind} } } }`), {
          id,
          at,
        })
      ).resource;

    const names = (list: { name: string }[]) => list.map((x) => x.name).sort();

    it('a resource updated twice: each answer is its own write (owner, references, version, history), the last is the stored state', async () => {
      const out = await mutate(`
        r0: updateDeploymentIntentGroup(id: "${ids.east}", input: {}) { ...F_DeploymentIntentGroup }
        u1: updateDeploymentIntentGroup(id: "${ids.east}", input: { description: "first", owner: { employeeId: "e-2" },
          clusters: [{ provider: "edge-west", name: "west-1" }], logicalCluster: "lc-west" }) { ...F_DeploymentIntentGroup }
        u2: updateDeploymentIntentGroup(id: "${ids.east}", input: { description: "second", owner: { employeeId: "e-3" },
          clusters: [{ provider: "edge-east", name: "east-3" }, { provider: "edge-west", name: "west-2" }], logicalCluster: "lc-east" }) { ...F_DeploymentIntentGroup }
      `);
      const v0 = out.r0.version as number;
      const steps = [
        [out.u1, 'first', 'e-2', ['west-1'], 'lc-west'],
        [out.u2, 'second', 'e-3', ['east-3', 'west-2'], 'lc-east'],
      ] as const;
      steps.forEach(([a, description, owner, clusters, logical], i) => {
        expect(a.version).toBe(v0 + i + 1);
        expect(a.description).toBe(description);
        expect(a.owner.key).toEqual({ employeeId: owner });
        expect(a.owner.entity.employeeId).toBe(owner);
        expect(names(a.clusters)).toEqual(clusters);
        expect(a.logicalCluster.name).toBe(logical);
        expect(a.history[0]).toMatchObject({ version: v0 + i + 1 });
        expect(a.history).toHaveLength(v0 + i + 1);
        expect(a.asOf.version).toBe(v0 + i + 1);
      });
      expect(out.u2).toEqual(await fresh('DeploymentIntentGroup', ids.east));
    });

    it('a project updated twice: each answer has its own billing account, description and version', async () => {
      const out = await mutate(`
        r0: updateProject(id: "${ids.retail}", input: {}) { ...F_Project }
        u1: updateProject(id: "${ids.retail}", input: { description: "one", billingAccount: { number: "ACC-1002", owner: "e-1" } }) { ...F_Project }
        u2: updateProject(id: "${ids.retail}", input: { description: "two", billingAccount: { number: "ACC-2002", owner: "e-5" } }) { ...F_Project }
      `);
      expect(out.u1).toMatchObject({
        version: out.r0.version + 1,
        description: 'one',
        billingAccount: { key: { number: 'ACC-1002', owner: 'e-1' }, entity: { currency: 'GBP' } },
      });
      expect(out.u2).toMatchObject({
        version: out.r0.version + 2,
        description: 'two',
        billingAccount: { key: { number: 'ACC-2002', owner: 'e-5' }, entity: { currency: 'USD' } },
      });
      expect(out.u2.history).toHaveLength(out.r0.version + 2);
      expect(out.u2).toEqual(await fresh('Project', ids.retail));
    });

    it('create then update: a later answer sees the created resources (children, references, their content)', async () => {
      // Only the last answer of a resource can equal a later fresh read in full: each answer is
      // compared with the fresh read unless a later field of the sequence changed what it shows.
      const out = await mutate(`
        r0: updateProject(id: "${ids.logistics}", input: {}) { ...F_Project }
        r1: updateCluster(id: "${ids.east1}", input: {}) { ...F_Cluster }
        cluster: createCluster(input: { provider: "edge-east", name: "east-9", labels: ["new"] }) { ...F_Cluster }
        c: updateCluster(id: "${ids.east1}", input: { labels: ["region=east", "tier=gold", "again"] }) { ...F_Cluster }
        p: updateProject(id: "${ids.logistics}", input: { description: "with a sorter" }) { ...F_Project }
        app: createCompositeApp(input: { project: "logistics", name: "sorter" }) { ...F_CompositeApp }
        p2: updateProject(id: "${ids.logistics}", input: {}) { ...F_Project }
        dig: updateDeploymentIntentGroup(id: "${ids.west}", input: { clusters: [{ provider: "edge-east", name: "east-9" }, { provider: "edge-east", name: "east-1" }] }) { ...F_DeploymentIntentGroup }
      `);
      expect(names(out.r0.compositeApps)).toEqual(['tracker']);
      expect(names(out.p.compositeApps)).toEqual(['tracker']);
      expect(out.p.description).toBe('with a sorter');
      expect(names(out.p2.compositeApps)).toEqual(['sorter', 'tracker']);
      expect(out.app.project.description).toBe('with a sorter');
      expect(out.c.version).toBe(out.r1.version + 1);
      expect(out.c.history).toHaveLength(out.r1.version + 1);
      expect(out.c.labels).toEqual(['region=east', 'tier=gold', 'again']);
      expect(out.dig.clusters.map((c: Answer) => [c.name, c.labels, c.version])).toEqual([
        ['east-9', ['new'], 1],
        ['east-1', ['region=east', 'tier=gold', 'again'], out.c.version],
      ]);
      expect(out.r1.referencedBy.map((r: Answer) => r.from.id)).not.toContain(ids.west);
      expect(out.dig).toEqual(await fresh('DeploymentIntentGroup', ids.west));
      expect(out.p2).toEqual(await fresh('Project', ids.logistics));
      expect(out.app).toEqual(await fresh('CompositeApp', out.app.id));
      const east1 = await fresh('Cluster', ids.east1);
      expect(east1.referencedBy.map((r: Answer) => r.from.id)).toContain(ids.west);
      // Its referrers (and so its deletion explanation) changed with the last update.
      expect({ ...out.c, referencedBy: undefined, deletion: undefined }).toEqual({
        ...east1,
        referencedBy: undefined,
        deletion: undefined,
      });
    });

    it('mark then read: the marked resource and its parent answer the marked state', async () => {
      const out = await mutate(`
        r0: updateProject(id: "${ids.logistics}", input: {}) { ...F_Project }
        m: markForDeletion(id: "${ids.tracker}") { resource { id status } marked { id } }
        p: updateProject(id: "${ids.logistics}", input: { description: "tracker is going" }) { ...F_Project }
      `);
      const tracker = (p: Answer) => p.compositeApps.find((a: Answer) => a.id === ids.tracker);
      expect(tracker(out.r0).status).toBe('ACTIVE');
      expect(out.m.resource.status).toBe('MARKED_FOR_DELETION');
      expect(tracker(out.p)).toMatchObject({ status: 'MARKED_FOR_DELETION', markedForDeletionAt: expect.any(String) });
      expect(out.p).toEqual(await fresh('Project', ids.logistics));
      const cancelled = await mutate(`
        c: cancelDeletion(id: "${ids.tracker}") { ... on CompositeApp { ...F_CompositeApp } }
        p: updateProject(id: "${ids.logistics}", input: {}) { ...F_Project }
      `);
      expect(cancelled.c.status).toBe('ACTIVE');
      expect(tracker(cancelled.p).status).toBe('ACTIVE');
      expect(cancelled.c).toEqual(await fresh('CompositeApp', ids.tracker));
    });

    it('approve then read: a later answer has the approval in force, and after a revoke none', async () => {
      const out = await mutate(`
        r0: updateDeploymentIntentGroup(id: "${ids.pay}", input: {}) { ...F_DeploymentIntentGroup }
        ap: approveDeploymentIntentGroup(id: "${ids.pay}") { id }
        r1: updateDeploymentIntentGroup(id: "${ids.pay}", input: {}) { ...F_DeploymentIntentGroup }
      `);
      expect(out.r0.approval).toBeNull();
      expect(out.r1.approval.id).toBe(out.ap.id);
      expect(out.r1).toEqual(await fresh('DeploymentIntentGroup', ids.pay));
      const revoked = await mutate(`
        r0: updateDeploymentIntentGroup(id: "${ids.pay}", input: {}) { ...F_DeploymentIntentGroup }
        rv: revokeApproval(id: "${out.ap.id}") { id }
        r1: updateDeploymentIntentGroup(id: "${ids.pay}", input: {}) { ...F_DeploymentIntentGroup }
      `);
      expect(revoked.r0.approval.id).toBe(out.ap.id);
      expect(revoked.r1.approval).toBeNull();
      expect(revoked.r1).toEqual(await fresh('DeploymentIntentGroup', ids.pay));
    });
  });
});
