// Schema evolution at start-up (issue 18): restarting on a relationship schema that no longer
// matches the stored data refuses, naming kind and count, when rows would be orphaned or misread;
// additions need only the restart; a changed field type is reported and its documents still served.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { SchemaEvolutionError } from '../src/engine/evolution.js';
import { createClientTables, insertDemoClientRows } from '../src/remote/client-demo.js';
import { startApp, type App } from '../src/server/app.js';
import { DEFAULT_SCHEMA_FILE } from '../src/model/load.js';
import { OPERATIONAL_KINDS, tempClientStore, tempOperationalStore, type TempStore } from './support/stores.js';

type Json = Record<string, any>;
const dir = mkdtempSync(join(tmpdir(), 'evolution-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
/** The demo relationship schema after `edit`, as a file. */
function variant(edit: (s: Json) => void = () => {}): string {
  const s = JSON.parse(readFileSync(DEFAULT_SCHEMA_FILE, 'utf8')) as Json;
  edit(s);
  const file = join(dir, `relationships-${++n}.json`);
  writeFileSync(file, JSON.stringify(s, null, 2));
  return file;
}

describe.each(OPERATIONAL_KINDS)('restarting on another relationship schema, on %s', (store) => {
  let op: TempStore;
  let client: TempStore;
  const lines: string[] = [];
  const capture = pino(
    { level: 'warn' },
    new Writable({
      write: (chunk, _, done) => {
        lines.push(String(chunk));
        done();
      },
    }),
  );
  const start = (schemaFile: string): Promise<App> => {
    const env = {
      AUTH_MODE: 'none',
      DATABASE_URL: op.url,
      CLIENT_DATABASE_URL: client.url,
      PORT: '0',
      SEED_DEMO: 'false',
      GC_INTERVAL_SECONDS: '0',
      REVALIDATE_INTERVAL_SECONDS: '0',
      RELATIONSHIP_SCHEMA: schemaFile,
    };
    return startApp(loadConfig(env), capture, env);
  };
  const refusal = async (schemaFile: string): Promise<string> => {
    const e = await start(schemaFile).then(
      async (app) => {
        await app.stop();
        throw new Error(`${schemaFile} was accepted`);
      },
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(SchemaEvolutionError);
    return (e as Error).message;
  };

  beforeAll(async () => {
    op = await tempOperationalStore(store);
    client = await tempClientStore('sqlite');
    await createClientTables(client.url);
    await insertDemoClientRows(client.url);
    const app = await start(DEFAULT_SCHEMA_FILE);
    try {
      const res = await fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query: `mutation {
            prov: createClusterProvider(input: { name: "prov" }) { id }
            c1: createCluster(input: { provider: "prov", name: "c1", labels: ["a"] }) { id }
            c2: createCluster(input: { provider: "prov", name: "c2" }) { id }
            p: createProject(input: { name: "shop", description: "long enough", billingAccount: { number: "ACC-1001", owner: "e-1" } }) { id }
            app: createCompositeApp(input: { project: "shop", name: "web" }) { id }
            prof: createCompositeProfile(input: { project: "shop", compositeApp: "web", name: "default" }) { id }
            lc: createLogicalCluster(input: { project: "shop", name: "lc" }) { id }
            g: createDeploymentIntentGroup(input: { project: "shop", compositeApp: "web", compositeProfile: "default", name: "g",
              logicalCluster: "lc", clusters: [{ provider: "prov", name: "c1" }, { provider: "prov", name: "c2" }], owner: { employeeId: "e-1" } }) { id }
          }`,
        }),
      });
      const body = (await res.json()) as { errors?: unknown };
      expect(body.errors).toBeUndefined();
    } finally {
      await app.stop();
    }
  });
  afterAll(async () => {
    await op?.drop();
    await client?.drop();
  });

  it('refuses a removed kind that still has resources, naming it and the count', async () => {
    const message = await refusal(
      variant((s) => {
        delete s.kinds.Cluster;
        delete s.kinds.DeploymentIntentGroup.references.clusters;
      }),
    );
    expect(message).toContain('kind Cluster has 2 stored resources but no entry defines it any more');
  });

  it('refuses a changed parent or identity', async () => {
    const parent = await refusal(
      variant((s) => {
        s.kinds.LogicalCluster.parent = 'ClusterProvider';
        s.kinds.LogicalCluster.identity = ['provider', 'name'];
        s.kinds.LogicalCluster.tenant = undefined;
        s.kinds.DeploymentIntentGroup.references.logicalCluster.scope = [];
      }),
    );
    expect(parent).toContain('kind LogicalCluster: 1 stored resource has parent kind Project, but its entry says parent ClusterProvider');
    const identity = await refusal(
      variant((s) => {
        s.kinds.Project.key = 'proj';
        for (const k of ['CompositeApp', 'LogicalCluster']) s.kinds[k].identity = ['proj', 'name'];
        s.kinds.CompositeProfile.identity = ['proj', 'compositeApp', 'name'];
        s.kinds.DeploymentIntentGroup.identity = ['proj', 'compositeApp', 'compositeProfile', 'name'];
        s.kinds.DeploymentIntentGroup.references.logicalCluster.scope = ['proj'];
        s.kinds.DeploymentIntentGroup.listRequires = ['proj'];
      }),
    );
    expect(identity).toContain('kind CompositeApp: its 1 stored resource was written with another identity than ["proj","name"]');
  });

  it('refuses a removed reference or remote reference that rows still use', async () => {
    const message = await refusal(
      variant((s) => {
        delete s.kinds.DeploymentIntentGroup.references.clusters;
        delete s.kinds.Project.remoteReferences;
      }),
    );
    expect(message).toContain(
      'kind DeploymentIntentGroup: 2 stored references in "clusters" (to Cluster) but its entry has no reference "clusters" any more',
    );
    expect(message).toContain(
      'kind Project: 1 stored remote reference in "billingAccount" (to BankAccount) but its entry has no remote reference "billingAccount" any more',
    );
  });

  it('starts on additions alone, and on a changed field type reports the documents that no longer validate and serves them', async () => {
    let app = await start(
      variant((s) => {
        s.kinds.Note = {
          key: 'note',
          parent: 'Project',
          identity: ['project', 'name'],
          fields: { text: { type: 'string' } },
          retentionSeconds: 0,
        };
        s.kinds.Cluster.fields.zone = { type: 'string' };
        s.kinds.Cluster.references = { backup: { kind: 'Cluster' } };
      }),
    );
    await app.stop();
    lines.length = 0;
    app = await start(variant((s) => (s.kinds.Project.fields.description = { type: 'string', maxLength: 5 })));
    try {
      const report = lines.map((l) => JSON.parse(l) as Json).find((l) => l.kind === 'Project');
      expect(report).toMatchObject({ count: 1, msg: expect.stringContaining('1 stored Project no longer validate') });
      const res = await fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ project(name: "shop") { description } }' }),
      });
      expect(await res.json()).toEqual({ data: { project: { description: 'long enough' } } });
    } finally {
      await app.stop();
    }
  });
});
