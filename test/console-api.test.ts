import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../console/build.mjs';
import { OPERATIONAL_KINDS } from './support/stores.js';
import { codes, startTestServer, type TestServer } from './support/server.js';
import { as, jwtEnv } from './support/tokens.js';

const OVERVIEW = `{ integrityOverview {
  kinds resourceCounts { kind status count }
  remoteCache { entityType fresh deleted missing failing oldestFetchedAt }
  sources { name breaker } changeFeed { transport deadLettered } leases { name holder since } maintenanceRuns { job outcome count } } }`;
const BROWSE = `query($kind: String!, $status: ResourceStatus, $search: String, $first: Int, $after: ID) {
  resources(kind: $kind, status: $status, search: $search, first: $first, after: $after) { id naturalKey status } }`;

describe.each(OPERATIONAL_KINDS)('the console queries on %s', (store) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(store);
    await s.ok(`mutation {
      a: createProject(input: { name: "alpha", billingAccount: { number: "ACC-1002", owner: "e-1" } }) { id }
      b: createProject(input: { name: "beta" }) { id }
      c: createProject(input: { name: "Alphabet" }) { id }
      w: createCompositeApp(input: { project: "alpha", name: "web" }) { id }
      x: createCompositeApp(input: { project: "beta", name: "web-x" }) { id }
    }`);
    const { project } = await s.ok(`{ project(name: "beta") { id } }`);
    await s.ok(`mutation($id: ID!) { markForDeletion(id: $id) { resource { id } } }`, { id: project.id });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('counts resources per kind and status and the remote cache per type', async () => {
    const { integrityOverview: o } = await s.ok(OVERVIEW);
    expect(o.kinds).toContain('DeploymentIntentGroup');
    expect(o.resourceCounts).toEqual(
      expect.arrayContaining([
        { kind: 'Project', status: 'ACTIVE', count: 2 },
        { kind: 'Project', status: 'MARKED_FOR_DELETION', count: 1 },
        { kind: 'CompositeApp', status: 'ACTIVE', count: 1 },
        { kind: 'CompositeApp', status: 'MARKED_FOR_DELETION', count: 1 },
      ]),
    );
    expect(o.remoteCache).toEqual([expect.objectContaining({ entityType: 'BankAccount', fresh: 1, deleted: 0, missing: 0, failing: 0 })]);
    expect(o.remoteCache[0].oldestFetchedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(o.sources.map((x: { breaker: string }) => x.breaker)).toEqual(o.sources.map(() => 'closed'));
    expect(o.leases.every((l: { holder: string | null }) => l.holder === null)).toBe(true);
  });

  it('says per kind which update and approve mutations exist and what an update takes, as the schema has them (the console needs no introspection)', async () => {
    const { integrityOverview: o } = await s.ok(`{ integrityOverview { kinds kindApis { kind update approve updateInputFields } } }`);
    const { __schema } = await s.ok(`{ __schema { mutationType { fields { name } } } }`);
    const inputs: Record<string, { inputFields: { name: string }[] } | null> = {};
    for (const k of o.kindApis as { kind: string }[]) {
      inputs[k.kind] = (
        await s.ok<{ t: { inputFields: { name: string }[] } | null }>(
          `{ t: __type(name: "Update${k.kind}Input") { inputFields { name } } }`,
        )
      ).t;
    }
    const mutations = new Set(__schema.mutationType.fields.map((f: { name: string }) => f.name));
    expect(o.kindApis.map((k: { kind: string }) => k.kind)).toEqual(o.kinds);
    for (const k of o.kindApis) {
      expect(k.update, k.kind).toBe(mutations.has(`update${k.kind}`) ? `update${k.kind}` : null);
      expect(k.approve, k.kind).toBe(mutations.has(`approve${k.kind}`) ? `approve${k.kind}` : null);
      expect(k.updateInputFields, k.kind).toEqual((inputs[k.kind]?.inputFields ?? []).map((f: { name: string }) => f.name));
    }
    expect(o.kindApis.find((k: { kind: string }) => k.kind === 'DeploymentIntentGroup').approve).toBe('approveDeploymentIntentGroup');
  });

  it('pages a kind, filtered by status and by a piece of the natural key', async () => {
    const all = (await s.ok(BROWSE, { kind: 'Project' })).resources;
    expect(all.map((r: { naturalKey: string }) => r.naturalKey).sort()).toEqual(['Alphabet', 'alpha', 'beta']);
    const marked = (await s.ok(BROWSE, { kind: 'Project', status: 'MARKED_FOR_DELETION' })).resources;
    expect(marked.map((r: { naturalKey: string }) => r.naturalKey)).toEqual(['beta']);
    // Case-sensitive on both stores.
    const alpha = (await s.ok(BROWSE, { kind: 'Project', search: 'alpha' })).resources;
    expect(alpha.map((r: { naturalKey: string }) => r.naturalKey)).toEqual(['alpha']);
    const nested = (await s.ok(BROWSE, { kind: 'CompositeApp', search: 'alpha/we' })).resources;
    expect(nested.map((r: { naturalKey: string }) => r.naturalKey)).toEqual(['alpha/web']);
    const first = (await s.ok(BROWSE, { kind: 'Project', first: 2 })).resources;
    const rest = (await s.ok(BROWSE, { kind: 'Project', first: 2, after: first[1].id })).resources;
    expect([...first, ...rest].map((r: { id: string }) => r.id)).toEqual(all.map((r: { id: string }) => r.id));
  });

  it('refuses an unknown kind and a page above the limit', async () => {
    expect(codes(await s.gql(BROWSE, { kind: 'Nope' }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await s.gql(BROWSE, { kind: 'Project', first: 1001 }))).toEqual(['BAD_USER_INPUT']);
  });
});

describe('the console queries under access control', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite', { env: jwtEnv() });
    const admin = await as('admin', ['integrity:read', 'integrity:write']);
    await s.ok(
      `mutation { a: createProject(input: { name: "alpha" }) { id } b: createProject(input: { name: "beta" }) { id } }`,
      {},
      admin,
    );
  });
  afterAll(async () => {
    await s?.close();
  });

  it('needs a token with integrity:read', async () => {
    expect(codes(await s.gql(OVERVIEW))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await s.gql(BROWSE, { kind: 'Project' }))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await s.gql(OVERVIEW, {}, await as('w', ['integrity:write'])))).toEqual(['FORBIDDEN']);
  });

  it('shows a caller confined to a project only its resources, and no infrastructure', async () => {
    const confined = await as('reader', ['integrity:read'], ['alpha']);
    const { integrityOverview: o } = await s.ok(OVERVIEW, {}, confined);
    expect(o.resourceCounts).toEqual([{ kind: 'Project', status: 'ACTIVE', count: 1 }]);
    expect(o.remoteCache).toEqual([]);
    expect(o.sources).toEqual([]);
    const page = (await s.ok(BROWSE, { kind: 'Project' }, confined)).resources;
    expect(page.map((r: { naturalKey: string }) => r.naturalKey)).toEqual(['alpha']);
  });
});

describe('serving the console at /console', () => {
  let s: TestServer;
  let root: string;
  beforeAll(async () => {
    await buildConsole();
    s = await startTestServer('sqlite');
    root = s.url.replace(/\/graphql$/, '');
  });
  afterAll(async () => {
    await s?.close();
  });

  it('answers index.html, never cached, for the overview and every shared link', async () => {
    for (const path of ['/console', '/console/', '/console/kinds/Project', '/console/resources/01abc', '/console/approvals/42']) {
      const res = await fetch(root + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('content-security-policy')).toContain("connect-src 'self'");
      expect(await res.text()).toContain('<div id="app">');
    }
  });

  it('serves the hashed assets with their types and caches them for good; a missing asset is a JSON 404', async () => {
    const html = await (await fetch(`${root}/console`)).text();
    const script = /src="([^"]+\.js)"/.exec(html)![1];
    const style = /href="([^"]+\.css)"/.exec(html)![1];
    const js = await fetch(root + script);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(root + style)).headers.get('content-type')).toBe('text/css; charset=utf-8');
    for (const path of [
      '/console/assets/app-missing.js',
      '/console/assets/..%2f..%2fpackage.json',
      '/console/assets/..%5c..%5cpackage.json',
    ]) {
      const res = await fetch(root + path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toContain('application/json');
      expect((await res.json()).errors[0].extensions.code).toBe('NOT_FOUND');
    }
  });
});
