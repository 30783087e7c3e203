import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatements } from '../src/data/statement-log.js';
import { OPERATIONAL_KINDS } from './support/stores.js';
import { startTestServer, type TestServer } from './support/server.js';
import { as, jwtEnv, SCOPES } from './support/tokens.js';

/**
 * A list reads its page together with the references and remote references the query selects
 * (src/engine/resources/page.ts); what it answers must be what the per-field loaders answer.
 */

const CLUSTERS = [11, 2, 10, 0, 7, 1, 9, 3, 12, 5, 4, 8, 6].map((i) => `c${i}`);

describe.each(OPERATIONAL_KINDS)('list page reads on %s', (store) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(store);
    await s.ok(`mutation {
      p: createProject(input: { name: "lp" }) { id }
      a: createCompositeApp(input: { project: "lp", name: "app" }) { id }
      f: createCompositeProfile(input: { project: "lp", compositeApp: "app", name: "prof" }) { id }
      l: createLogicalCluster(input: { project: "lp", name: "lc" }) { id }
      v: createClusterProvider(input: { name: "prov" }) { id }
      ${CLUSTERS.map((c) => `${c}: createCluster(input: { provider: "prov", name: "${c}", labels: ["n=${c}"] }) { id }`).join('\n')}
      g1: createDeploymentIntentGroup(input: { project: "lp", compositeApp: "app", compositeProfile: "prof", name: "g1", logicalCluster: "lc",
        clusters: [${CLUSTERS.map((c) => `{ provider: "prov", name: "${c}" }`).join(', ')}], owner: { employeeId: "e-2" } }) { id }
      g2: createDeploymentIntentGroup(input: { project: "lp", compositeApp: "app", compositeProfile: "prof", name: "g2" }) { id }
    }`);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('gives a list reference in document order past ten items, a missing reference as null and no owner as null', async () => {
    const data = await s.ok<{ deploymentIntentGroups: any[] }>(`{ deploymentIntentGroups(project: "lp", first: 10) {
      name owner { status entity { name } } clusters(first: 20) { name labels provider { name } } logicalCluster { name }
    } }`);
    expect(data.deploymentIntentGroups).toEqual([
      {
        name: 'g1',
        owner: { status: 'FRESH', entity: { name: 'Alan Turing' } },
        clusters: CLUSTERS.map((c) => ({ name: c, labels: [`n=${c}`], provider: { name: 'prov' } })),
        logicalCluster: { name: 'lc' },
      },
      { name: 'g2', owner: null, clusters: [], logicalCluster: null },
    ]);
  });

  it('compares the project name byte for byte (SQLite LIKE ignores case)', async () => {
    expect(await s.ok(`{ deploymentIntentGroups(project: "LP") { name owner { hashKey } clusters { name } } }`)).toEqual({
      deploymentIntentGroups: [],
    });
  });

  it('reads the fields asked for through fragments the same way, in the same statements', async () => {
    const plain = await s.countedGql(
      `{ deploymentIntentGroups(project: "lp") { name owner { hashKey } clusters { name } logicalCluster { name } } }`,
    );
    const fragments = await s.countedGql(`{ deploymentIntentGroups(project: "lp") { ...G } }
      fragment G on DeploymentIntentGroup { name ... on DeploymentIntentGroup { owner { hashKey } clusters { name } } logicalCluster { name } }`);
    expect(fragments.res).toEqual(plain.res);
    expect(fragments.statements.length).toBe(plain.statements.length);
  });

  it('leaves the content in the store when no content field is asked for, and reads it when one is, in the same operation too', async () => {
    const names = await s.countedGql<{ deploymentIntentGroups: { id: string; name: string }[] }>(
      `{ deploymentIntentGroups(project: "lp") { id name } }`,
    );
    expect(names.res.data!.deploymentIntentGroups.map((g) => g.name)).toEqual(['g1', 'g2']);
    expect(names.statements.join('\n')).not.toMatch(/(?<!AS )\bcontent\b/i);
    await s.ok(
      `mutation { updateDeploymentIntentGroup(id: "${names.res.data!.deploymentIntentGroups[0].id}", input: { description: "first" }) { id } }`,
    );
    // The page's records carry no content: a by-id read of the same resource in the same operation reads it whole.
    const mixed = await s.ok<any>(
      `query($id: ID!) {
      deploymentIntentGroups(project: "lp") { id name }
      resource(id: $id) { ... on DeploymentIntentGroup { name description } }
      withDescription: deploymentIntentGroups(project: "lp", first: 1) { name description }
    }`,
      { id: names.res.data!.deploymentIntentGroups[0].id },
    );
    expect(mixed.resource).toEqual({ name: 'g1', description: 'first' });
    expect(mixed.withDescription).toEqual([{ name: 'g1', description: 'first' }]);
  });

  it('reads only the columns the fields ask for, and answers every column field as the by-id path does, marked resources included', async () => {
    await s.ok(`mutation {
      p: createProject(input: { name: "cols" }) { id }
      a: createCompositeApp(input: { project: "cols", name: "app" }) { id }
      f: createCompositeProfile(input: { project: "cols", compositeApp: "app", name: "prof" }) { id }
      g: createDeploymentIntentGroup(input: { project: "cols", compositeApp: "app", compositeProfile: "prof", name: "kept" }) { id }
      m: createDeploymentIntentGroup(input: { project: "cols", compositeApp: "app", compositeProfile: "prof", name: "marked" }) { id }
    }`);
    const ids = await s.ok<any>(`{ deploymentIntentGroups(project: "cols") { id name } }`);
    const marked = ids.deploymentIntentGroups.find((g: { name: string }) => g.name === 'marked').id;
    await s.ok(`mutation { markForDeletion(id: "${marked}") { marked { id } } }`);
    const FIELDS =
      'id name naturalKey version status createdAt updatedAt markedForDeletionAt markedForDeletionBy deleteAfter compositeProfile { name }';
    const list = await s.countedGql<{ deploymentIntentGroups: any[] }>(`{ deploymentIntentGroups(project: "cols") { ${FIELDS} } }`);
    expect(list.res.errors).toBeUndefined();
    for (const g of list.res.data!.deploymentIntentGroups) {
      const one = await s.ok<any>(`query($id: ID!) { resource(id: $id) { ... on DeploymentIntentGroup { ${FIELDS} } } }`, { id: g.id });
      expect(g).toEqual(one.resource);
    }
    expect(list.res.data!.deploymentIntentGroups.find((g) => g.id === marked)).toMatchObject({
      status: 'MARKED_FOR_DELETION',
      markedForDeletionAt: expect.any(String),
    });
    const names = await s.countedGql(`{ deploymentIntentGroups(project: "cols") { name owner { hashKey } } }`);
    const page = names.statements.find((q) => /FROM resource WHERE/.test(q))!;
    // No document; every other column, so that a later read of the same resource answers as the list did (read-consistency-races.test.ts).
    expect(page).toContain('NULL AS content');
    for (const column of ['natural_key', 'version', 'created_at', 'marked_at', 'parent_id'])
      expect(page).not.toContain(`NULL AS ${column}`);
  });

  it('agrees with the single-resource path, which reads through the loaders', async () => {
    const list = await s.ok<{ deploymentIntentGroups: any[] }>(
      `{ deploymentIntentGroups(project: "lp") { id clusters { name } owner { entity { employeeId } } } }`,
    );
    const one = await s.ok<{ resource: any }>(
      `query($id: ID!) { resource(id: $id) { ... on DeploymentIntentGroup { id clusters { name } owner { entity { employeeId } } } } }`,
      {
        id: list.deploymentIntentGroups[0].id,
      },
    );
    expect(one.resource).toEqual(list.deploymentIntentGroups[0]);
  });
});

describe.each(OPERATIONAL_KINDS)('list page reads under a projects claim (%s)', (store) => {
  let s: TestServer;
  let admin: Record<string, string>;
  let rita: Record<string, string>; // every scope, confined to retail
  const LIST = `name markedForDeletionBy owner { hashKey } clusters(first: 2) { name } logicalCluster { name }`;
  beforeAll(async () => {
    s = await startTestServer(store, { env: jwtEnv(), seedDemo: true });
    admin = await as('root', SCOPES);
    rita = await as('rita', SCOPES, ['retail']);
    const groups = await s.ok<any>(`{ deploymentIntentGroups(project: "retail") { id } }`, {}, admin);
    await s.ok(`mutation { markForDeletion(id: "${groups.deploymentIntentGroups[0].id}") { marked { id } } }`, {}, admin);
  });
  afterAll(() => s?.close());

  it('reads the page with its references under the caller tenancy condition, in the page statement itself', async () => {
    const { result, statements } = await countStatements(s.app.db.statementLog, () =>
      s.gql(`{ deploymentIntentGroups(project: "logistics") { ${LIST} } projects { name billingAccount { hashKey } } }`, {}, rita),
    );
    expect(result.data).toEqual({ deploymentIntentGroups: [], projects: [{ name: 'retail', billingAccount: expect.anything() }] });
    const pages = statements.filter((q) => /FROM \(SELECT .* FROM resource WHERE kind = \?/s.test(q));
    expect(pages.length).toBeGreaterThan(0);
    for (const q of pages) expect(q).toMatch(/FROM resource WHERE kind = \? AND \(.*natural_key >= \? AND resource\.natural_key < \?/s);
  });

  it('answers a confined caller its own project as an unconfined one sees it, markedForDeletionBy and clusters(first) included', async () => {
    const mine = await s.ok<any>(`{ deploymentIntentGroups(project: "retail") { ${LIST} } }`, {}, rita);
    const all = await s.ok<any>(`{ deploymentIntentGroups(project: "retail") { ${LIST} } }`, {}, admin);
    expect(mine).toEqual(all);
    expect(mine.deploymentIntentGroups[0].markedForDeletionBy).toBe('root');
    expect(mine.deploymentIntentGroups.some((g: any) => g.clusters.length === 2)).toBe(true);
    // The single-resource path (loaders, no page read) gives the same clusters(first).
    const ids = await s.ok<any>(`{ deploymentIntentGroups(project: "retail") { id } }`, {}, rita);
    for (const [i, { id }] of ids.deploymentIntentGroups.entries()) {
      const one = await s.ok<any>(`query($id: ID!) { resource(id: $id) { ... on DeploymentIntentGroup { ${LIST} } } }`, { id }, rita);
      expect(one.resource).toEqual(mine.deploymentIntentGroups[i]);
    }
  });
});
