import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatements } from '../src/data/statement-log.js';
import { codes, startTestServer, type GraphQLResponse, type TestServer } from './support/server.js';
import { OPERATIONAL_KINDS, tempMysql } from './support/stores.js';
import { proxied } from './support/tcp-proxy.js';
import { as, jwtEnv } from './support/tokens.js';
import { createClientTables, insertDemoClientRows } from '../src/remote/client-demo.js';

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
          e.create('DeploymentIntentGroup', {
            project: 'big',
            compositeApp: 'app',
            compositeProfile: 'prof',
            name: `g${String(i + j).padStart(4, '0')}`,
            clusters,
          }),
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
        const [{ result, statements }, answered] = await Promise.all([
          countStatements(s.app.db.statementLog, () => s.gql(query)),
          s.gql(small),
        ]);
        const ms = performance.now() - started;
        expect(codes(result), what).toEqual(['BAD_USER_INPUT']);
        expect(result.data ?? null, what).toBeNull();
        // Refused before execution: the operational store saw nothing of it (only the small query's reads).
        expect(
          statements.filter((q) => !/compositeApps|parent_id/.test(q) && !/natural_key IN/.test(q)).length,
          `${what}: ${statements.join('\n')}`,
        ).toBeLessThanOrEqual(0);
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
    // Nested lists without `first` count at their default page (100): a page of 1000 asks for the clusters it needs.
    const ok = await s.ok<any>(`{ deploymentIntentGroups(project: "big", first: 1000) { name clusters(first: 3) { name } } }`);
    expect(ok.deploymentIntentGroups).toHaveLength(GROUPS);
    const fan = await s.ok<any>(
      `{ deploymentIntentGroups(project: "big", first: 2) { clusters(first: 2) { referencedBy(first: 3) { from { id } } } } }`,
    );
    expect(fan.deploymentIntentGroups.map((g: any) => g.clusters.map((c: any) => c.referencedBy.length))).toEqual([
      [3, 3],
      [3, 3],
    ]);
  });

  it('nested lists take `first`: default and at most 1000, like top-level lists', async () => {
    const page = await s.ok<any>(
      `{ project(name: "big") { compositeApps(first: 1) { profiles(first: 1) { deploymentIntentGroups(first: 5) { name } all: deploymentIntentGroups { name } } } } }`,
    );
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
      [
        'directives',
        await s.gql(`{ ${Array.from({ length: 30 }, (_, i) => `d${i}: __typename @include(if: true) @skip(if: false)`).join(' ')} }`),
      ],
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
    for (const at of [
      '2026-02-30T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-01-01T10:00:60Z',
      '2026-01-01T10:00:00+24:00',
    ]) {
      const literal = await s.gql(`{ resource(id: "${id}") { asOf(at: "${at}") { version } } }`);
      expect(codes(literal), at).toEqual(['BAD_USER_INPUT']);
      const variable = await s.gql(`query ($at: DateTime!) { resource(id: "${id}") { asOf(at: $at) { version } } }`, { at });
      expect(codes(variable), at).toEqual(['BAD_USER_INPUT']);
    }
    expect(await s.ok(`{ resource(id: "${id}") { asOf(at: "2024-02-29T23:59:59.999Z") { version } } }`)).toEqual({
      resource: { asOf: null },
    });
  });

  it('caps echoed input in error messages: a 1 MB id is not sent back', async () => {
    const huge = 'x'.repeat(MB);
    const res = await fetch(s.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'mutation ($id: ID!) { updateProject(id: $id, input: { description: "d" }) { id } }',
        variables: { id: huge },
      }),
    });
    const text = await res.text();
    expect(text.length).toBeLessThan(4096);
    const body = JSON.parse(text) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0].extensions.code).toBe('NOT_FOUND');
    expect(body.errors[0].message).toMatch(/characters in all/);
  });
});

/** Issue 17's abuse shapes (findings 5, 6, 13): each refused or bounded with a contract code, the process alive after. */
describe.each(OPERATIONAL_KINDS)('abuse shapes on %s (demo data, AUTH_MODE=jwt)', (kind) => {
  let s: TestServer;
  let reader: Record<string, string>;
  beforeAll(async () => {
    s = await startTestServer(kind, { seedDemo: true, env: jwtEnv() });
    reader = await as('reader', ['integrity:read'], ['retail']);
  }, 120_000);
  afterAll(() => s?.close());

  const alive = async () => {
    expect((await fetch(new URL('/health/live', s.url))).status).toBe(200);
    expect(await s.ok('{ project(name: "retail") { name } }', undefined, reader)).toEqual({ project: { name: 'retail' } });
  };
  const refused = async (what: string, res: GraphQLResponse, message?: RegExp) => {
    expect(codes(res), what).toEqual(['BAD_USER_INPUT']);
    expect(res.data ?? null, what).toBeNull();
    if (message) expect(res.errors![0].message, what).toMatch(message);
  };

  it('four nested logicalClusters { project { logicalClusters ... } } levels, as a confined reader', async () => {
    const nest = (d: number): string => (d === 0 ? 'name' : `logicalClusters { name project { ${nest(d - 1)} } }`);
    await refused('nested', await s.gql(`{ project(name: "retail") { ${nest(4)} } }`, undefined, reader), /objects and values/);
    await alive();
  });

  it('nested lists with aliased scalars', async () => {
    const scalars = Array.from({ length: 20 }, (_, i) => `n${i}: name`).join(' ');
    const q = `{ projects { ${scalars} compositeApps { ${scalars} profiles { ${scalars} } } } }`;
    await refused('aliased scalars', await s.gql(q, undefined, reader), /objects and values/);
    // Explicit small pages of the same shape are answered.
    await s.ok(
      `{ projects(first: 2) { ${scalars} compositeApps(first: 2) { ${scalars} profiles(first: 2) { ${scalars} } } } }`,
      undefined,
      reader,
    );
    await alive();
  });

  it('99 aliases of __schema are refused, without a token and to a reader; one full introspection is answered to a reader', async () => {
    const q = `{ ${Array.from({ length: 99 }, (_, i) => `s${i}: __schema { types { name fields { name type { name } } } }`).join(' ')} }`;
    await refused('__schema x99', await s.gql(q), /objects and values/);
    await refused('__schema x99, reader', await s.gql(q, undefined, reader), /objects and values/);
    // Without a token only _service answers (access control), so the one that is answered is a reader's.
    const one = await s.gql(
      `{ __schema { types { name kind fields { name args { name type { name kind ofType { name kind ofType { name kind } } } } type { name kind ofType { name kind ofType { name kind ofType { name } } } } } } } }`,
      undefined,
      reader,
    );
    expect(one.errors).toBeUndefined();
    await alive();
  });

  it('root fragments asking lists for more than LIMIT_MAX_LIST_ITEMS (spreads and inline fragments)', async () => {
    for (const q of [
      `{ ...Q } fragment Q on Query { a: projects(first: 1000) { name } b: projects(first: 1000) { name } c: projects(first: 1000) { name } }`,
      `{ ... on Query { a: projects(first: 600) { name } } ...Q } fragment Q on Query { b: projects(first: 600) { name } }`,
      `{ project(name: "retail") { ...L } } fragment L on Project { a: logicalClusters(first: 600) { name } ... { b: logicalClusters(first: 600) { name } } }`,
    ]) {
      await refused(q, await s.gql(q, undefined, reader), /items/);
    }
    await alive();
  });

  it('directives on repeated fragment spreads are counted', async () => {
    const spreads = Array.from({ length: 30 }, () => '...F @include(if: true) @skip(if: false)').join(' ');
    await refused('directives', await s.gql(`{ ${spreads} } fragment F on Query { __typename }`, undefined, reader), /directives/);
    await alive();
  });

  it('a 5 MB body of deeply nested JSON in variables is refused before it is parsed', async () => {
    const depth = 2_500_000;
    const body = `{"query":"query ($v: JSON) { __typename }","variables":{"v":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
    const res = await fetch(s.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const json = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(json.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(json.errors[0].message).toMatch(/nests JSON deeper than 64/);
    // Brackets inside strings are text, not nesting.
    const text = '['.repeat(1000);
    expect(await s.ok('query ($n: String!) { __type(name: $n) { name } }', { n: text }, reader)).toEqual({ __type: null });
    await alive();
  });
});

describe.each(OPERATIONAL_KINDS)('execution is bounded while it runs, on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    // The estimate passes (default budget); execution may produce only 20 objects.
    // Compiled from the second run: the first run of each document is graphql-js's, the second graphql-jit's.
    s = await startTestServer(kind, { seedDemo: true, env: { LIMIT_MAX_OBJECTS: '20', EXECUTION_COMPILE_AFTER: '1' } });
  }, 120_000);
  afterAll(() => s?.close());

  it('past its object budget a query answers one BAD_USER_INPUT error and no data; a mutation keeps what it wrote', async () => {
    const q =
      '{ projects(first: 5) { name compositeApps(first: 5) { name profiles(first: 5) { name deploymentIntentGroups(first: 5) { name clusters(first: 5) { name } } } } } }';
    for (const run of ['graphql-js', 'graphql-jit']) {
      const res = await fetch(s.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: q }),
      });
      expect(res.status, run).toBe(400);
      const body = (await res.json()) as { data?: unknown; errors: { message: string; extensions: { code: string } }[] };
      expect(body.data, run).toBeUndefined();
      expect(body.errors, run).toHaveLength(1);
      expect(body.errors[0].extensions.code, run).toBe('BAD_USER_INPUT');
      expect(body.errors[0].message, run).toMatch(/more than 20 objects/);
    }
    // Small operations still run.
    expect(await s.ok('{ project(name: "retail") { name } }')).toEqual({ project: { name: 'retail' } });
    const id = (await s.ok<any>('{ project(name: "retail") { id } }')).project.id;
    const write = await s.gql(
      `mutation { updateProject(id: "${id}", input: { description: "over budget" }) { name compositeApps(first: 5) { profiles(first: 5) { deploymentIntentGroups(first: 5) { clusters(first: 5) { name provider { clusters(first: 5) { name } } } } } } } }`,
    );
    expect(codes(write)[0]).toBe('BAD_USER_INPUT');
    expect((await s.ok<any>('{ project(name: "retail") { description } }')).project.description).toBe('over budget');
    expect((await fetch(new URL('/health/live', s.url))).status).toBe(200);
  });
  it('a compiled answer with errors, run again on graphql-js, is held to the budget once, not twice', async () => {
    // Between half the budget and the budget, with an error that sends the compiled answer back to graphql-js.
    const q =
      '{ projects(first: 5) { name logicalClusters(first: 5) { name } compositeApps(first: 5) { name profiles(first: 5) { name } } } p: project(name: "retail") { name history(first: -1) { version } } }';
    const objects = (await s.gql<any>(q.replace('history(first: -1)', 'history(first: 0)'))).data;
    const apps = objects.projects.flatMap((p: any) => p.compositeApps);
    const produced =
      objects.projects.length +
      objects.projects.flatMap((p: any) => p.logicalClusters).length +
      apps.length +
      apps.flatMap((a: any) => a.profiles).length +
      1;
    expect(produced).toBeGreaterThan(10);
    expect(produced).toBeLessThanOrEqual(20);
    for (const run of ['graphql-js', 'graphql-jit']) {
      const res = await s.gql<any>(q);
      expect(codes(res), run).toEqual(['BAD_USER_INPUT']);
      expect(res.errors![0].message, run).not.toMatch(/objects/);
      expect(res.data?.projects.length, run).toBe(objects.projects.length);
    }
  });
});

describe('the wall-time bound (REQUEST_TIMEOUT_MS) covers all of execution: a remote store that hangs', () => {
  let s: TestServer;
  let proxy: Awaited<ReturnType<typeof proxied>>['proxy'];
  let client: Awaited<ReturnType<typeof tempMysql>>;
  beforeAll(async () => {
    client = await tempMysql('client');
    await createClientTables(client.url);
    await insertDemoClientRows(client.url);
    const p = await proxied(client.url);
    proxy = p.proxy;
    // The remote source's own timeout is far longer than the request's: only the request's bound can end it.
    s = await startTestServer('sqlite', {
      seedDemo: true,
      env: { CLIENT_DATABASE_URL: p.url, REQUEST_TIMEOUT_MS: '1500', REMOTE_TIMEOUT_MS: '600000' },
    });
  }, 120_000);
  afterAll(async () => {
    await s?.close();
    await proxy?.cut();
    await client?.drop();
  });

  it('answers one STORE_UNAVAILABLE error and no data, and the process keeps answering', async () => {
    expect((await s.ok<any>('{ employees(first: 2) { employeeId } }')).employees).toHaveLength(2);
    proxy.stall();
    const res = await fetch(s.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ projects(first: 2) { name } employees(first: 3) { employeeId name } }' }),
    });
    const body = (await res.json()) as { data?: unknown; errors: { message: string; extensions: { code: string } }[] };
    expect(res.status).toBe(503);
    expect(body.data).toBeUndefined();
    expect(body.errors.map((e) => e.extensions.code)).toEqual(['STORE_UNAVAILABLE']);
    expect(body.errors[0].message).toMatch(/ran out of time/);
    expect(await s.ok('{ project(name: "retail") { name } }')).toEqual({ project: { name: 'retail' } });
    proxy.resume();
  }, 60_000);
});
