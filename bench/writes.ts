import { newId } from '../src/data/ids.js';
import { startBenchApp, type BenchApp } from './lib/app.js';
import { progress, type BenchOptions } from './lib/options.js';
import { openRaw, type Raw } from './lib/raw.js';
import { round } from './lib/stats.js';
import { benchStores, type StoreKind } from './lib/stores.js';
import { createDomain, groupRefs, PROJECT } from './list.js';

/**
 * Issue 13, item 3: N creates of deployment intent groups with three references (a logical
 * cluster, two clusters) and an owner, through the engine one at a time, against plain inserts of
 * the same rows (resource, resource_history, resource_ref, remote_link) through the driver, one
 * transaction per group and no checks.
 */

export interface WritesResult {
  store: StoreKind;
  creates: number;
  engine: { seconds: number; perCreateMs: number; perSecond: number; statementsPerCreate: number };
  plain: { seconds: number; perCreateMs: number; perSecond: number; statementsPerCreate: number };
  overhead: number;
}

const stamp = () => new Date().toISOString().replace('T', ' ').replace('Z', '000');

/** Group i's content: a logical cluster and two clusters (three references) and an owner. */
function groupContent(prefix: string, i: number, employees: number) {
  const refs = groupRefs(i, employees);
  return {
    project: PROJECT,
    compositeApp: 'app',
    compositeProfile: 'prof',
    name: `${prefix}${i}`,
    ...refs,
    clusters: refs.clusters.slice(0, 2),
  };
}

async function plainInserts(raw: Raw, count: number, employees: number): Promise<{ ms: number; statements: number }> {
  const ids = new Map<string, string>();
  for (const r of await raw.all<{ id: string; kind: string; natural_key: string }>(`SELECT id, kind, natural_key FROM resource`))
    ids.set(`${r.kind}|${r.natural_key}`, r.id);
  const owners = new Map<string, string>();
  for (const r of await raw.all<{ id: string; remote_key_payload: string }>(`SELECT id, remote_key_payload FROM remote_ref`))
    owners.set(r.remote_key_payload, r.id);
  const profileId = ids.get(`CompositeProfile|${JSON.stringify([PROJECT, 'app', 'prof'])}`)!;
  const begin = raw.kind === 'mysql' ? 'START TRANSACTION' : 'BEGIN';
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const c = groupContent('plain-', i, employees);
    const id = newId();
    const now = stamp();
    const naturalKey = JSON.stringify([PROJECT, 'app', 'prof', c.name]);
    const lc = ids.get(`LogicalCluster|${JSON.stringify([PROJECT, c.logicalCluster])}`)!;
    const clusters = c.clusters.map((x) => ids.get(`Cluster|${JSON.stringify([x.provider, x.name])}`)!);
    const owner = owners.get(JSON.stringify(c.owner))!;
    const content = JSON.stringify(c);
    await raw.run(begin);
    await raw.run(
      `INSERT INTO resource (id, kind, natural_key, name, parent_id, content, version, status, created_at, updated_at) VALUES (?, 'DeploymentIntentGroup', ?, ?, ?, ?, 1, 'ACTIVE', ?, ?)`,
      [id, naturalKey, c.name, profileId, content, now, now],
    );
    await raw.run(`INSERT INTO resource_history (resource_id, version, content, valid_from) VALUES (?, 1, ?, ?)`, [id, content, now]);
    await raw.run(
      `INSERT INTO resource_ref (from_id, path, to_id, type, created_at) VALUES (?, 'parent', ?, 'CHILD', ?), (?, 'logicalCluster', ?, 'ARBITRARY', ?), (?, 'clusters[0]', ?, 'ARBITRARY', ?), (?, 'clusters[1]', ?, 'ARBITRARY', ?)`,
      [id, profileId, now, id, lc, now, id, clusters[0], now, id, clusters[1], now],
    );
    await raw.run(`INSERT INTO remote_link (resource_id, path, remote_ref_id) VALUES (?, 'owner', ?)`, [id, owner]);
    await raw.run('COMMIT');
  }
  return { ms: performance.now() - t0, statements: 6 };
}

export async function runWritesBench(store: StoreKind, options: BenchOptions): Promise<WritesResult> {
  const count = options.writes;
  progress(`writes/${store}: ${count} creates through the engine against plain inserts`);
  const { op, client, stops } = await benchStores(store, options);
  let app: BenchApp | undefined;
  try {
    app = await startBenchApp(op.url, client.url);
    await createDomain(app, 0, options.employees, options.createConcurrency[store]);
    // Every owner is known once before timing, so both sides link existing remote_ref rows.
    for (let i = 0; i < options.employees; i++)
      await app.app.engine.create('DeploymentIntentGroup', groupContent('warm-', i, options.employees));
    let statements = 0;
    const stop = app.app.db.statementLog.listen(() => statements++);
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      await app.app.engine.create('DeploymentIntentGroup', groupContent('g-', i, options.employees));
      if ((i + 1) % 2500 === 0) progress(`writes/${store}:   ${i + 1}/${count} engine creates`);
    }
    const engineMs = performance.now() - t0;
    stop();
    const raw = await openRaw(op.url);
    stops.unshift(() => raw.close());
    const plain = await plainInserts(raw, count, options.employees);
    const rate = (ms: number) => ({
      seconds: round(ms / 1000),
      perCreateMs: round(ms / count, 3),
      perSecond: round((count * 1000) / ms, 1),
    });
    const result: WritesResult = {
      store,
      creates: count,
      engine: { ...rate(engineMs), statementsPerCreate: round(statements / count, 2) },
      plain: { ...rate(plain.ms), statementsPerCreate: plain.statements },
      overhead: round(engineMs / plain.ms, 2),
    };
    progress(
      `writes/${store}: engine ${result.engine.perCreateMs} ms/create, plain ${result.plain.perCreateMs} ms/create: ${result.overhead}×`,
    );
    return result;
  } finally {
    await app?.stop().catch(() => undefined);
    for (const s of stops) await s().catch((e) => progress(`writes/${store}: while stopping: ${(e as Error).message}`));
  }
}
