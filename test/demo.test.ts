import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_RESOURCES } from '../src/demo/demo-data.js';
import { freePort, spawnSubgraph, type SubgraphProcess } from './fixtures/subgraph-process.js';

/** What a new user does: start the subgraph with nothing configured but where its data lives. */
async function start(dataDir: string): Promise<{ proc: SubgraphProcess; url: string; port: number }> {
  const port = await freePort();
  const proc = spawnSubgraph({ DATA_DIR: dataDir, PORT: String(port), GC_INTERVAL_SECONDS: '0' });
  try {
    const [, url] = await proc.waitForStdout(/Open Apollo Sandbox: (http:\/\/\S+)/, 60_000);
    return { proc, url, port };
  } catch (e) {
    await proc.kill();
    throw e;
  }
}

/** SIGTERM, as a user's Ctrl-C or a supervisor does; test/server.test.ts checks the exit code and the draining. */
async function stop(proc: SubgraphProcess, port: number) {
  process.kill(proc.child.pid!, 'SIGTERM');
  const exit = await proc.waitForExit(15_000);
  expect(exit.code, proc.stdout() + proc.stderr()).not.toBeNull();
  await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
}

async function gql(url: string, query: string): Promise<Record<string, any>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  const body = (await res.json()) as { data?: Record<string, any>; errors?: unknown[] };
  if (body.errors) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  expect(res.status).toBe(200);
  return body.data!;
}

const resourceCount = (dataDir: string) => {
  const db = new Database(join(dataDir, 'operational.sqlite'), { readonly: true });
  try {
    return Number((db.prepare('SELECT COUNT(*) AS n FROM resource').get() as { n: number }).n);
  } finally {
    db.close();
  }
};

// Nested lists multiply in the cost estimate: each asks a page that fits the demo data.
const PROJECTS = `{ projects(first: 10) {
  name description
  billingAccount { status key entity { number owner bank } }
  compositeApps(first: 5) { name profiles(first: 5) { name deploymentIntentGroups(first: 5) {
    name logicalCluster { name } clusters(first: 5) { name provider { name } }
    owner { status entity { employeeId name } }
  } } }
  logicalClusters(first: 10) { name }
} }`;

describe('the demo, as a new user starts it', () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'demo-')), 'data'); // does not exist yet
  const procs: SubgraphProcess[] = [];
  afterAll(async () => {
    for (const p of procs) await p.kill();
    rmSync(join(dataDir, '..'), { recursive: true, force: true });
  });

  let countAfterFirstRun = 0;

  it('starts on embedded SQLite with the demo data and keeps what the user creates', async () => {
    const first = await start(dataDir);
    procs.push(first.proc);
    expect(first.url).toBe(`http://127.0.0.1:${first.port}/graphql`);
    expect(existsSync(join(dataDir, 'operational.sqlite'))).toBe(true);
    expect(existsSync(join(dataDir, 'client.sqlite'))).toBe(true);

    const { projects } = await gql(first.url, PROJECTS);
    expect(projects.map((p: any) => p.name).sort()).toEqual(['logistics', 'retail']);

    const retail = projects.find((p: any) => p.name === 'retail');
    expect(retail.compositeApps.map((a: any) => a.name).sort()).toEqual(['payments', 'storefront']);
    expect(retail.billingAccount).toMatchObject({
      status: 'FRESH',
      key: { number: 'ACC-1001', owner: 'e-1' },
      entity: { number: 'ACC-1001', owner: 'e-1' },
    });
    const storefront = retail.compositeApps.find((a: any) => a.name === 'storefront');
    expect(storefront.profiles.map((p: any) => p.name).sort()).toEqual(['canary', 'default']);
    const prodEast = storefront.profiles
      .find((p: any) => p.name === 'default')
      .deploymentIntentGroups.find((g: any) => g.name === 'prod-east');
    expect(prodEast).toEqual({
      name: 'prod-east',
      logicalCluster: { name: 'lc-east' },
      clusters: [
        { name: 'east-1', provider: { name: 'edge-east' } },
        { name: 'east-2', provider: { name: 'edge-east' } },
      ],
      owner: { status: 'FRESH', entity: { employeeId: 'e-1', name: 'Ada Lovelace' } },
    });

    const logistics = projects.find((p: any) => p.name === 'logistics');
    expect(logistics).toMatchObject({
      description: 'Parcel tracking',
      logicalClusters: [{ name: 'lc-all' }],
      compositeApps: [
        {
          name: 'tracker',
          profiles: [
            {
              name: 'default',
              deploymentIntentGroups: [
                {
                  name: 'tracker-prod',
                  logicalCluster: { name: 'lc-all' },
                  clusters: [
                    { name: 'east-2', provider: { name: 'edge-east' } },
                    { name: 'west-2', provider: { name: 'edge-west' } },
                  ],
                  // the owner comes from the client store
                  owner: { status: 'FRESH', entity: { employeeId: 'e-7', name: 'Margaret Hamilton' } },
                },
              ],
            },
          ],
        },
      ],
    });
    // every owner in the demo resolves from the client store
    const owners = projects.flatMap((p: any) =>
      p.compositeApps.flatMap((a: any) => a.profiles.flatMap((pr: any) => pr.deploymentIntentGroups.map((g: any) => g.owner))),
    );
    expect(owners).toHaveLength(5);
    for (const o of owners) expect(o.status).toBe('FRESH');

    const { createProject } = await gql(
      first.url,
      `mutation { createProject(input: { name: "mine", description: "made by the new user" }) { name version } }`,
    );
    expect(createProject).toEqual({ name: 'mine', version: 1 });

    await stop(first.proc, first.port);
    countAfterFirstRun = resourceCount(dataDir);
    // the demo resources once, plus the user's project
    expect(countAfterFirstRun).toBe(DEMO_RESOURCES.length + 1);

    // Start again on the same data: the project is still there, the demo is not loaded twice.
    const second = await start(dataDir);
    procs.push(second.proc);
    const again = await gql(second.url, `{ projects(first: 100) { name description } project(name: "mine") { name version description } }`);
    expect(again.projects.map((p: any) => p.name).sort()).toEqual(['logistics', 'mine', 'retail']);
    expect(again.project).toEqual({ name: 'mine', version: 1, description: 'made by the new user' });
    const { clusterProvider } = await gql(second.url, `{ clusterProvider(name: "edge-east") { clusters { name } } }`);
    expect(clusterProvider.clusters.map((c: any) => c.name)).toEqual(['east-1', 'east-2', 'east-3']);
    await stop(second.proc, second.port);
    expect(resourceCount(dataDir)).toBe(countAfterFirstRun);
  });
});
