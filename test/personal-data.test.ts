import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SCHEMA_FILE } from '../src/model/load.js';
import { OPERATIONAL_KINDS } from './support/stores.js';
import { startTestServer, type TestServer } from './support/server.js';

const APPROVE = `mutation($id: ID!) { approveDeploymentIntentGroup(id: $id) { id pins { resourceId kind version } } }`;
const MARKERS = ['PERSONAL-MARKER-v1', 'PERSONAL-MARKER-v2'];

/**
 * Personal means gone: a schema where clusters (and their providers) are personal, a cluster
 * pinned by a group's approval, then dereferenced, re-approved, marked and collected. Afterwards
 * no table holds its content; the old approval keeps id, kind and version with a tombstone.
 */
describe.each(OPERATIONAL_KINDS)('collecting personal resources on %s', (store) => {
  let s: TestServer;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'personal-'));
    const schema = JSON.parse(readFileSync(DEFAULT_SCHEMA_FILE, 'utf8'));
    schema.kinds.Cluster.personal = true;
    schema.kinds.ClusterProvider.personal = true;
    const file = join(dir, 'relationships.json');
    writeFileSync(file, JSON.stringify(schema));
    s = await startTestServer(store, { env: { RELATIONSHIP_SCHEMA: file, RETENTION_SECONDS: '0', AUTH_MODE: 'none' } });
  });
  afterAll(async () => {
    await s?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Every table of the operational store, each row as JSON text. */
  async function everyRow(): Promise<{ table: string; row: string }[]> {
    const db = s.app.db;
    const tables =
      db.kind === 'sqlite'
        ? await db.query<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table'`)
        : await db.query<{ name: string }>(`SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()`);
    const out: { table: string; row: string }[] = [];
    for (const { name } of tables)
      for (const row of await db.query(`SELECT * FROM ${name}`)) out.push({ table: name, row: JSON.stringify(row) });
    return out;
  }
  const traces = async () => (await everyRow()).filter((r) => MARKERS.some((m) => r.row.includes(m)));

  it('removes a collected personal resource from every pin, history row and table; the pin keeps id, kind and version', async () => {
    const r = await s.ok(`mutation {
      pv: createClusterProvider(input: { name: "pv" }) { id }
      c: createCluster(input: { provider: "pv", name: "secret", labels: ["${MARKERS[0]}"] }) { id }
      other: createCluster(input: { provider: "pv", name: "plain" }) { id }
      p: createProject(input: { name: "shop" }) { id }
      app: createCompositeApp(input: { project: "shop", name: "web" }) { id }
      prof: createCompositeProfile(input: { project: "shop", compositeApp: "web", name: "default" }) { id }
      g: createDeploymentIntentGroup(input: { project: "shop", compositeApp: "web", compositeProfile: "default", name: "g",
           clusters: [{ provider: "pv", name: "secret" }] }) { id }
    }`);
    await s.ok(`mutation($id: ID!) { updateCluster(id: $id, input: { labels: ["${MARKERS[1]}"] }) { version } }`, { id: r.c.id });
    // Another group's approval pins the cluster (and its provider) at version 2.
    const { approveDeploymentIntentGroup: first } = await s.ok(APPROVE, { id: r.g.id });
    expect(first.pins).toEqual(
      expect.arrayContaining([
        { resourceId: r.c.id, kind: 'Cluster', version: 2 },
        { resourceId: r.pv.id, kind: 'ClusterProvider', version: 1 },
      ]),
    );
    // The group lets go of the cluster and is approved again: the first approval is revoked, its pins stay.
    await s.ok(`mutation($id: ID!) { updateDeploymentIntentGroup(id: $id, input: { clusters: [] }) { version } }`, { id: r.g.id });
    await s.ok(APPROVE, { id: r.g.id });
    expect((await traces()).map((t) => t.table).sort()).toEqual(
      ['approval_pin', 'resource', 'resource_history', 'resource_history'].sort(),
    );

    await s.ok(`mutation($id: ID!) { markForDeletion(id: $id) { marked { id } } }`, { id: r.pv.id });
    const { collectGarbage: gc } = await s.ok(`mutation { collectGarbage { deleted archived } }`);
    expect([...gc.deleted].sort()).toEqual([r.pv.id, r.c.id, r.other.id].sort());
    expect(gc.archived).toBe(0);

    // No table holds its content any more…
    expect(await traces()).toEqual([]);
    // …and the old approval still says what it pinned, without the content.
    const { approval } = await s.ok(`query($id: ID!) { approval(id: $id) { revokedAt stale pins { resourceId kind version content } } }`, {
      id: first.id,
    });
    expect(approval.revokedAt).not.toBeNull();
    expect(approval.stale).toBe(true);
    const pin = approval.pins.find((p: { resourceId: string }) => p.resourceId === r.c.id);
    expect(pin).toEqual({ resourceId: r.c.id, kind: 'Cluster', version: 2, content: { tombstone: true, reason: expect.any(String) } });
    const providerPin = approval.pins.find((p: { resourceId: string }) => p.resourceId === r.pv.id);
    expect(providerPin.content).toMatchObject({ tombstone: true });
    // Non-personal pins of the same approval keep their content.
    expect(approval.pins.find((p: { resourceId: string }) => p.resourceId === r.g.id).content).toMatchObject({ name: 'g' });
  });
});
