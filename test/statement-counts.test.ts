import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATIONAL_KINDS } from './support/stores.js';
import { startTestServer, type TestServer } from './support/server.js';

// Pages that hold what the test makes (100 groups, two clusters each): nested lists multiply in the cost estimate.
const LIST = `query($p: String!) { deploymentIntentGroups(project: $p, first: 200) {
  name
  compositeProfile { name compositeApp { name project { name } } }
  logicalCluster { name }
  clusters(first: 10) { name provider { name } }
} }`;

/** What group i refers to: one of 3 logical clusters, two of the provider's 5 clusters. */
const refs = (i: number) => ({ lc: `lc${i % 3}`, clusters: [`c${i % 5}`, `c${(i + 1) % 5}`] });
const groupName = (i: number) => `g${String(i).padStart(3, '0')}`;

describe.each(OPERATIONAL_KINDS)('statement counts on %s', (store) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(store);
    await s.ok(`mutation {
      p: createProject(input: { name: "sc" }) { id }
      a: createCompositeApp(input: { project: "sc", name: "app" }) { id }
      f: createCompositeProfile(input: { project: "sc", compositeApp: "app", name: "prof" }) { id }
      l0: createLogicalCluster(input: { project: "sc", name: "lc0" }) { id }
      l1: createLogicalCluster(input: { project: "sc", name: "lc1" }) { id }
      l2: createLogicalCluster(input: { project: "sc", name: "lc2" }) { id }
      v: createClusterProvider(input: { name: "prov" }) { id }
      ${[0, 1, 2, 3, 4].map((i) => `c${i}: createCluster(input: { provider: "prov", name: "c${i}" }) { id }`).join('\n')}
    }`);
  });
  afterAll(async () => {
    await s?.close();
  });

  /** Creates groups [from, to), 25 per request. */
  async function createGroups(from: number, to: number) {
    for (let start = from; start < to; start += 25) {
      const ops = [];
      for (let i = start; i < Math.min(start + 25, to); i++) {
        const r = refs(i);
        ops.push(`g${i}: createDeploymentIntentGroup(input: { project: "sc", compositeApp: "app", compositeProfile: "prof",
          name: "${groupName(i)}", logicalCluster: "${r.lc}",
          clusters: [${r.clusters.map((c) => `{ provider: "prov", name: "${c}" }`).join(', ')}] }) { name }`);
      }
      const data = await s.ok<Record<string, { name: string }>>(`mutation { ${ops.join('\n')} }`);
      expect(Object.keys(data)).toHaveLength(ops.length);
    }
  }

  async function measure(n: number) {
    const { res, statements } = await s.countedGql<{ deploymentIntentGroups: any[] }>(LIST, { p: 'sc' });
    expect(res.errors).toBeUndefined();
    const groups = res.data!.deploymentIntentGroups;
    expect(groups).toHaveLength(n);
    const byName = new Map(groups.map((g) => [g.name, g]));
    for (let i = 0; i < n; i++) {
      const r = refs(i);
      expect(byName.get(groupName(i))).toEqual({
        name: groupName(i),
        compositeProfile: { name: 'prof', compositeApp: { name: 'app', project: { name: 'sc' } } },
        logicalCluster: { name: r.lc },
        clusters: r.clusters.map((c) => ({ name: c, provider: { name: 'prov' } })),
      });
    }
    return statements;
  }

  it('listing 100 groups with their profile, app, project, logical cluster and clusters costs the same statements as 10', async () => {
    await createGroups(0, 10);
    const ten = await measure(10);
    await createGroups(10, 100);
    const hundred = await measure(100);
    expect(hundred.length, `10 groups:\n${ten.join('\n')}\n\n100 groups:\n${hundred.join('\n')}`).toBe(ten.length);
    expect(ten.length).toBeGreaterThan(0);
    expect(ten.length).toBeLessThanOrEqual(12);
  });
});
