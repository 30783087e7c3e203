import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSubgraph, type SubgraphProcess } from './fixtures/subgraph-process.js';

describe('npm run demo:supergraph', () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'demo-supergraph-')), 'data');
  let proc: SubgraphProcess | undefined;
  afterAll(async () => {
    await proc?.kill();
  });

  it('starts the subgraph on the embedded store, the employees subgraph and a gateway, and answers queries that cross both ways', async () => {
    // NODE_ENV as a person's shell has it: Apollo Server installs its own signal handlers outside "test".
    proc = spawnSubgraph(
      {
        DATA_DIR: dataDir,
        PORT: '0',
        EMPLOYEES_PORT: '0',
        GATEWAY_PORT: '0',
        AUTH_MODE: 'none',
        GC_INTERVAL_SECONDS: '0',
        APOLLO_TELEMETRY_DISABLED: 'true',
        NODE_ENV: 'development',
      },
      'demo:supergraph',
    );
    const [, url] = await proc.waitForStdout(/Supergraph ready \(Apollo Gateway\)\. Open Apollo Sandbox: (http:\/\/\S+)/, 60_000);
    const landing = await fetch(url, { headers: { accept: 'text/html' } });
    expect(landing.status).toBe(200);
    expect(await landing.text()).toContain('sandbox');

    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: `{
          project(name: "retail") { billingAccount { entity { number bank holder { name bankAccounts { number } } } } }
          employee(employeeId: "e-1") { name bankAccounts { number } referencedBy { path from { kind ... on DeploymentIntentGroup { name } } } }
        }`,
      }),
    });
    const body = (await res.json()) as { data?: any; errors?: unknown[] };
    expect(body.errors).toBeUndefined();
    expect(body.data.project.billingAccount.entity).toEqual({
      number: 'ACC-1001',
      bank: 'First Analytical Bank',
      holder: { name: 'Ada Lovelace', bankAccounts: [{ number: 'ACC-1001' }, { number: 'ACC-1002' }] },
    });
    expect(body.data.employee.name).toBe('Ada Lovelace');
    expect(body.data.employee.referencedBy).toContainEqual({ path: 'owner', from: { kind: 'DeploymentIntentGroup', name: 'prod-east' } });

    // The gateway answers a local frontend's preflight as the subgraph does (CORS_ORIGINS).
    const preflight = await fetch(url, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:5173',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');

    process.kill(proc.child.pid!, 'SIGTERM');
    expect((await proc.waitForExit(20_000)).code).toBe(0);
  });
});
