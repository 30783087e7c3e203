import { createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Trace } from '@apollo/usage-reporting-protobuf';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, spawnSubgraph, type SubgraphProcess } from './fixtures/subgraph-process.js';
import { startTestServer, type TestServer } from './support/server.js';

/**
 * Production defaults: with NODE_ENV=production (off the embedded demo store) the schema is not
 * introspectable and GET /graphql shows no Sandbox, unless INTROSPECTION / LANDING_PAGE say so;
 * FEDERATION_TRACES answers routers' ftv1 trace requests; a taken port names the setting that moves it.
 */
const INTROSPECT = '{ __schema { queryType { name } } }';
const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});

async function server(env: Record<string, string>, seedDemo = false): Promise<TestServer> {
  const s = await startTestServer('sqlite', { env, seedDemo });
  servers.push(s);
  return s;
}

async function landingPage(url: string): Promise<string> {
  const res = await fetch(url, { headers: { accept: 'text/html' } });
  return res.ok ? await res.text() : '';
}

describe('production defaults', () => {
  it('NODE_ENV=production: introspection is refused and GET /graphql shows no Sandbox; queries still answer', async () => {
    const s = await server({ NODE_ENV: 'production' });
    const res = await s.gql(INTROSPECT);
    expect(res.data).toBeUndefined();
    expect(res.errors?.[0]?.message).toMatch(/introspection/i);
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await landingPage(s.url)).not.toMatch(/sandbox/i);
    expect(await s.ok('{ projects(first: 1) { name } }')).toHaveProperty('projects');
  });

  it('NODE_ENV=production with INTROSPECTION=true and LANDING_PAGE=true: both are on', async () => {
    const s = await server({ NODE_ENV: 'production', INTROSPECTION: 'true', LANDING_PAGE: 'true' });
    expect(await s.ok(INTROSPECT)).toEqual({ __schema: { queryType: { name: 'Query' } } });
    expect(await landingPage(s.url)).toMatch(/sandbox/i);
  });

  it('outside production both are on by default, and INTROSPECTION=false / LANDING_PAGE=false turn them off', async () => {
    const on = await server({ NODE_ENV: 'development' });
    expect(await on.ok(INTROSPECT)).toEqual({ __schema: { queryType: { name: 'Query' } } });
    expect(await landingPage(on.url)).toMatch(/sandbox/i);
    const off = await server({ NODE_ENV: 'development', INTROSPECTION: 'false', LANDING_PAGE: 'false' });
    expect((await off.gql(INTROSPECT)).errors?.[0]?.message).toMatch(/introspection/i);
    expect(await landingPage(off.url)).not.toMatch(/sandbox/i);
  });
});

describe('federated traces (ftv1)', () => {
  const traced = async (s: TestServer, query: string) => {
    const res = await fetch(s.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'apollo-federation-include-trace': 'ftv1' },
      body: JSON.stringify({ query }),
    });
    return (await res.json()) as { data?: unknown; extensions?: { ftv1?: string } };
  };
  const fieldNames = (node: Trace.INode | null | undefined): string[] =>
    (node?.child ?? []).flatMap((c) => [c.responseName ?? String(c.index), ...fieldNames(c)]);

  it('FEDERATION_TRACES=true: a router asking for ftv1 gets a trace with a node per field, each time (compiled path included)', async () => {
    const s = await server({ FEDERATION_TRACES: 'true', EXECUTION_COMPILE_AFTER: '0' }, true);
    for (let run = 0; run < 2; run++) {
      const res = await traced(s, '{ projects(first: 2) { name } }');
      expect(res.data).toHaveProperty('projects');
      const trace = Trace.decode(Buffer.from(res.extensions!.ftv1!, 'base64'));
      expect(fieldNames(trace.root)).toContain('projects');
      expect(fieldNames(trace.root)).toContain('name');
    }
    // Without the header, no trace.
    expect(((await s.gql('{ projects(first: 1) { name } }')) as { extensions?: unknown }).extensions).toBeUndefined();
  });

  it('by default no trace is answered, even when asked', async () => {
    const s = await server({});
    const res = await traced(s, '{ projects(first: 1) { name } }');
    expect(res.data).toHaveProperty('projects');
    expect(res.extensions?.ftv1).toBeUndefined();
  });
});

describe('a taken port', () => {
  const dirs: string[] = [];
  const procs: SubgraphProcess[] = [];
  const held: Server[] = [];
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill()));
    await Promise.all(held.map((h) => new Promise((r) => h.close(r))));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const hold = async (): Promise<number> => {
    const port = await freePort();
    const h = createServer();
    held.push(h);
    await new Promise<void>((r) => h.listen(port, '127.0.0.1', () => r()));
    return port;
  };

  it.each(['PORT', 'METRICS_PORT'])('%s taken: one line naming the setting, no stack trace, exit 1', async (setting) => {
    const dir = mkdtempSync(join(tmpdir(), 'port-'));
    dirs.push(dir);
    const taken = await hold();
    const env: Record<string, string> = { DATA_DIR: dir, PORT: setting === 'PORT' ? String(taken) : '0', GC_INTERVAL_SECONDS: '0' };
    if (setting === 'METRICS_PORT') env.METRICS_PORT = String(taken);
    const p = spawnSubgraph(env);
    procs.push(p);
    expect((await p.waitForExit(60_000)).code).toBe(1);
    const lines = p.stderr().trim().split('\n');
    expect(lines).toEqual([
      `Cannot start: ${setting}=${taken} is taken on 127.0.0.1 (another process listens there): set ${setting} to a free port`,
    ]);
    expect(p.stdout()).not.toMatch(/"stack"|EADDRINUSE/);
  });
});
