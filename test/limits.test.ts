import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatements } from '../src/data/statement-log.js';
import { codes, startTestServer, type TestServer } from './support/server.js';
import { OPERATIONAL_KINDS } from './support/stores.js';

const GROUPS = 1000;
const MB = 1024 * 1024;

/** The abusive requests of issue 8, as an attacker would send them. */
const nest = (depth: number): string => (depth === 0 ? 'name' : `compositeApps { project { ${nest(depth - 1)} } }`);
const ABUSE: Record<string, string> = {
  'depth-50 nesting project → compositeApps → project': `{ project(name: "big") { ${nest(25)} } }`,
  'depth-4 fan-out over 1,000 groups': `{ deploymentIntentGroups(project: "big", first: 1000) {
      clusters { referencedBy { from { ... on DeploymentIntentGroup { name clusters { name } } } } } } }`,
  'depth-4 fan-out with explicit pages': `{ deploymentIntentGroups(project: "big", first: 1000) { clusters(first: 1000) { referencedBy(first: 1000) { from { id } } } } }`,
  '50 aliases of deploymentIntentGroups(first: 1000)': `{ ${Array.from({ length: 50 }, (_, i) => `a${i}: deploymentIntentGroups(project: "big", first: 1000) { name }`).join(' ')} }`,
};

describe.each(OPERATIONAL_KINDS)('request limits on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind);
    const e = s.app.engine;
    await e.create('Project', { name: 'big' });
    await e.create('CompositeApp', { project: 'big', name: 'app' });
    await e.create('CompositeProfile', { project: 'big', compositeApp: 'app', name: 'prof' });
    await e.create('ClusterProvider', { name: 'prov' });
    for (const c of ['c1', 'c2', 'c3']) await e.create('Cluster', { provider: 'prov', name: c });
    const clusters = ['c1', 'c2', 'c3'].map((name) => ({ provider: 'prov', name }));
    for (let i = 0; i < GROUPS; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, (_, j) =>
          e.create('DeploymentIntentGroup', { project: 'big', compositeApp: 'app', compositeProfile: 'prof', name: `g${String(i + j).padStart(4, '0')}`, clusters }),
        ),
      );
    }
  }, 300_000);
  afterAll(() => s?.close());

  it('refuses each abusive query with BAD_USER_INPUT before any store is read; memory stays flat; a small query is answered meanwhile', async () => {
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const small = '{ project(name: "big") { name compositeApps { name } } }';
    for (const [what, query] of Object.entries(ABUSE)) {
      for (let round = 0; round < 3; round++) {
        const started = performance.now();
        const [{ result, statements }, answered] = await Promise.all([countStatements(s.app.db.statementLog, () => s.gql(query)), s.gql(small)]);
        const ms = performance.now() - started;
        expect(codes(result), what).toEqual(['BAD_USER_INPUT']);
        expect(result.data ?? null, what).toBeNull();
        // Refused before execution: the operational store saw nothing of it (only the small query's reads).
        expect(statements.filter((q) => !/compositeApps|parent_id/.test(q) && !/natural_key IN/.test(q)).length, `${what}: ${statements.join('\n')}`).toBeLessThanOrEqual(0);
        expect(answered.data, what).toEqual({ project: { name: 'big', compositeApps: [{ name: 'app' }] } });
        if (round === 0) console.log(`${kind}: ${what}: refused in ${ms.toFixed(1)} ms: ${result.errors![0].message}`);
      }
    }
    const rssAfter = process.memoryUsage().rss;
    console.log(`${kind}: RSS before ${(rssBefore / MB).toFixed(0)} MB, after ${(rssAfter / MB).toFixed(0)} MB`);
    // Generous: the unbounded version of these requests grew the server by gigabytes.
    expect(rssAfter - rssBefore).toBeLessThan(150 * MB);
  });

  it('the same lists, asked within bounds, are answered', async () => {
    const ok = await s.ok<any>(`{ deploymentIntentGroups(project: "big", first: 1000) { name clusters { name } } }`);
    expect(ok.deploymentIntentGroups).toHaveLength(GROUPS);
    const fan = await s.ok<any>(`{ deploymentIntentGroups(project: "big", first: 2) { clusters(first: 2) { referencedBy(first: 3) { from { id } } } } }`);
    expect(fan.deploymentIntentGroups.map((g: any) => g.clusters.map((c: any) => c.referencedBy.length))).toEqual([
      [3, 3],
      [3, 3],
    ]);
  });

  it('nested lists take `first`: default and at most 1000, like top-level lists', async () => {
    const page = await s.ok<any>(`{ project(name: "big") { compositeApps { profiles { deploymentIntentGroups(first: 5) { name } all: deploymentIntentGroups { name } } } } }`);
    const profile = page.project.compositeApps[0].profiles[0];
    expect(profile.deploymentIntentGroups).toHaveLength(5);
    expect(profile.all).toHaveLength(100); // the default page
    for (const q of [
      `{ project(name: "big") { compositeApps(first: 1001) { name } } }`,
      `{ project(name: "big") { referencedBy(first: -1) { path } } }`,
      `{ clusterProvider(name: "prov") { clusters(first: 5000) { name } } }`,
    ]) {
      const res = await s.gql(q);
      expect(codes(res), q).toEqual(['BAD_USER_INPUT']);
      expect(res.errors![0].message).toMatch(/first/);
    }
  });

  it('counts list sizes given as variables, per request', async () => {
    const q = `query ($n: Int) { deploymentIntentGroups(project: "big", first: $n) { clusters(first: $n) { referencedBy(first: $n) { from { id } } } } }`;
    expect(codes(await s.gql(q, { n: 1000 }))).toEqual(['BAD_USER_INPUT']);
    expect((await s.ok<any>(q, { n: 2 })).deploymentIntentGroups).toHaveLength(2);
  });

  it('bounds tokens, aliases and directives', async () => {
    for (const [what, res] of [
      ['tokens', await s.gql(`{ ${Array.from({ length: 12000 }, () => '__typename').join(' ')} }`)],
      ['aliases', await s.gql(`{ ${Array.from({ length: 150 }, (_, i) => `a${i}: project(name: "big") { name }`).join(' ')} }`)],
      ['directives', await s.gql(`{ ${Array.from({ length: 30 }, (_, i) => `d${i}: __typename @include(if: true) @skip(if: false)`).join(' ')} }`)],
    ] as const) {
      expect(codes(res), what).toEqual(['BAD_USER_INPUT']);
    }
  });
});

describe('transport and input errors (SQLite)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite', { seedDemo: true });
  });
  afterAll(() => s?.close());

  const post = (body: string, contentType = 'application/json') =>
    fetch(s.url, { method: 'POST', headers: { 'content-type': contentType }, body });

  it('answers bad JSON, oversized bodies and wrong content types with JSON errors, not HTML', async () => {
    for (const [what, res, status] of [
      ['bad JSON', await post('{"query": "{ __typename }"'), 400],
      ['oversized body', await post('a'.repeat(6 * MB)), 413],
      ['text/plain', await post('{"query":"{ __typename }"}', 'text/plain'), 400],
      ['form', await post('query=%7B__typename%7D', 'application/x-www-form-urlencoded'), 400],
    ] as const) {
      expect(res.status, what).toBe(status);
      expect(res.headers.get('content-type'), what).toMatch(/application\/json/);
      const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
      expect(body.errors[0].extensions.code, what).toBe('BAD_USER_INPUT');
      expect(body.errors[0].message, what).not.toMatch(/<html|at .*\.js/i);
    }
  });

  it('refuses impossible instants in the DateTime scalar', async () => {
    const id = (await s.ok<any>('{ project(name: "retail") { id } }')).project.id;
    for (const at of ['2026-02-30T00:00:00Z', '2026-01-01T24:00:00Z', '2026-13-01T00:00:00Z', '2026-01-01T10:00:60Z', '2026-01-01T10:00:00+24:00']) {
      const literal = await s.gql(`{ resource(id: "${id}") { asOf(at: "${at}") { version } } }`);
      expect(codes(literal), at).toEqual(['BAD_USER_INPUT']);
      const variable = await s.gql(`query ($at: DateTime!) { resource(id: "${id}") { asOf(at: $at) { version } } }`, { at });
      expect(codes(variable), at).toEqual(['BAD_USER_INPUT']);
    }
    expect(await s.ok(`{ resource(id: "${id}") { asOf(at: "2024-02-29T23:59:59.999Z") { version } } }`)).toEqual({ resource: { asOf: null } });
  });

  it('caps echoed input in error messages: a 1 MB id is not sent back', async () => {
    const huge = 'x'.repeat(MB);
    const res = await fetch(s.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'mutation ($id: ID!) { updateProject(id: $id, input: { description: "d" }) { id } }', variables: { id: huge } }),
    });
    const text = await res.text();
    expect(text.length).toBeLessThan(4096);
    const body = JSON.parse(text) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0].extensions.code).toBe('NOT_FOUND');
    expect(body.errors[0].message).toMatch(/characters in all/);
  });
});
