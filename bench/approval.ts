import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newId } from '../src/data/ids.js';
import { inParallel, parseBody, startBenchApp } from './lib/app.js';
import { progress, type BenchOptions } from './lib/options.js';
import { openRaw } from './lib/raw.js';
import { measureInterleaved, statementShapes, type Summary } from './lib/stats.js';
import { benchStores, type StoreKind } from './lib/stores.js';

/**
 * Issue 5, item 6: a group whose closure holds 1,000 resources (the group, its profile, app and
 * project, its logical cluster, 990 clusters under 5 providers); approving it, and reading the
 * approval (pins) through GraphQL, against raw SQL doing the same writes and reads.
 *
 * The shipped relationship schema caps a group's `clusters` at 500 items; the benchmark runs on a
 * copy with the cap raised to fit, written to a temporary file and named by RELATIONSHIP_SCHEMA.
 */

export const APPROVE = `mutation($id: ID!) { approveDeploymentIntentGroup(id: $id) { id approvedAt } }`;
export const READ_APPROVAL = `query($id: ID!) { approval(id: $id) {
  id approvedAt stale resource { naturalKey }
  pins { resourceId kind version content remoteSnapshots { path entityType entity } }
} }`;

export interface ApprovalRow extends Summary {
  store: StoreKind;
  case: string;
  closure: number;
  xFloor?: number;
}

export interface ApprovalResult {
  store: StoreKind;
  closure: number;
  smallClosure: number;
  setupSeconds: number;
  /** The statements of one operation, by shape. */
  statements: Record<string, { count: number; sql: string }[]>;
  rows: ApprovalRow[];
}

const PROJECT = 'appr';

function schemaWithRoomFor(clusters: number, dir: string): string {
  const file = fileURLToPath(new URL('../schema/relationships.json', import.meta.url));
  const schema = JSON.parse(readFileSync(file, 'utf8')) as {
    kinds: Record<string, { references?: Record<string, { maxItems?: number }> }>;
  };
  const ref = schema.kinds.DeploymentIntentGroup.references!.clusters;
  ref.maxItems = Math.max(ref.maxItems ?? 100, clusters);
  delete (schema as { $schema?: string }).$schema;
  const out = join(dir, 'relationships.bench.json');
  writeFileSync(out, JSON.stringify(schema, null, 2));
  return out;
}

export async function runApprovalBench(store: StoreKind, options: BenchOptions): Promise<ApprovalResult> {
  const providers = options.closure >= 100 ? 5 : 1;
  const clusters = options.closure - 5 - providers;
  progress(`approval/${store}: setting up a group whose closure holds ${options.closure} resources (${clusters} clusters)`);
  const t0 = performance.now();
  const { op, client, stops } = await benchStores(store, options);
  try {
    const schemaFile = schemaWithRoomFor(clusters, join(client.url.slice('sqlite:'.length), '..'));
    const a = await startBenchApp(op.url, client.url, { RELATIONSHIP_SCHEMA: schemaFile, REMOTE_RETRIES: '0' });
    stops.unshift(() => a.stop());
    const engine = a.app.engine;
    await engine.create('Project', { name: PROJECT });
    await engine.create('CompositeApp', { project: PROJECT, name: 'app' });
    await engine.create('CompositeProfile', { project: PROJECT, compositeApp: 'app', name: 'prof' });
    await engine.create('LogicalCluster', { project: PROJECT, name: 'lc' });
    const keys: { provider: string; name: string }[] = [];
    for (let p = 0; p < providers; p++) await engine.create('ClusterProvider', { name: `pv${p}` });
    for (let c = 0; c < clusters; c++) keys.push({ provider: `pv${c % providers}`, name: `c${String(c).padStart(4, '0')}` });
    await inParallel(keys, options.createConcurrency[store], (k, i) => engine.create('Cluster', { ...k, labels: [`n=${i}`] }));
    const base = { project: PROJECT, compositeApp: 'app', compositeProfile: 'prof', logicalCluster: 'lc', owner: { employeeId: 'e-1' } };
    const big = await engine.create('DeploymentIntentGroup', { ...base, name: 'big', clusters: keys });
    const small = await engine.create('DeploymentIntentGroup', { ...base, name: 'small', clusters: keys.slice(0, 5) });
    const setupSeconds = Math.round((performance.now() - t0) / 100) / 10;
    progress(`approval/${store}: set up in ${setupSeconds} s`);

    const approve = (id: string) => async () => parseBody<{ approveDeploymentIntentGroup: { id: string } }>(await a.post(APPROVE, { id }));
    const { approveDeploymentIntentGroup: smallApproval } = await approve(small.id)();
    let bigApprovalId = (await approve(big.id)()).approveDeploymentIntentGroup.id;
    const pinsOf = async (id: string) =>
      parseBody<{ approval: { pins: { resourceId: string }[] } }>(await a.post(READ_APPROVAL, { id })).approval.pins.map(
        (p) => p.resourceId,
      );
    const closureIds = await pinsOf(bigApprovalId);
    const smallClosure = (await pinsOf(smallApproval.id)).length;
    if (closureIds.length !== options.closure)
      throw new Error(`the closure holds ${closureIds.length} resources, expected ${options.closure}`);

    const raw = await openRaw(op.url);
    stops.unshift(() => raw.close());
    const counted = { statementLog: a.app.db.statementLog, source: a.source };
    const checkRead = (n: number) => (text: unknown) => {
      const pins = parseBody<{ approval: { stale: boolean; pins: unknown[] } }>(text as string).approval.pins;
      if (pins.length !== n) throw new Error(`read ${pins.length} pins, expected ${n}`);
    };
    const ph = closureIds.map(() => '?').join(', ');
    // The floors, through the driver.
    const rawRead = async () => {
      const rows = await raw.all<{
        resource_id: string;
        kind: string;
        version: number;
        content: string;
        path: string | null;
        entity_type: string | null;
        entity: string | null;
      }>(
        `SELECT p.resource_id, p.kind, p.version, p.content, s.path, s.entity_type, s.entity
         FROM approval_pin p LEFT JOIN approval_remote_snapshot s ON s.approval_id = p.approval_id AND s.resource_id = p.resource_id
         WHERE p.approval_id = ? ORDER BY p.resource_id`,
        [bigApprovalId],
      );
      const pins = rows.map((r) => ({
        resourceId: r.resource_id,
        kind: r.kind,
        version: Number(r.version),
        content: JSON.parse(r.content) as unknown,
        remoteSnapshots: r.path
          ? [{ path: r.path, entityType: r.entity_type, entity: r.entity === null ? null : (JSON.parse(r.entity) as unknown) }]
          : [],
      }));
      return JSON.stringify({ data: { approval: { id: bigApprovalId, pins } } });
    };
    const rawApprove = async () => {
      const id = newId();
      await raw.run(raw.kind === 'mysql' ? 'START TRANSACTION' : 'BEGIN');
      // Revoked at once, so the approval in force stays the subgraph's.
      await raw.run(
        `INSERT INTO approval (id, resource_id, approved_at, revoked_at) VALUES (?, ?, '2000-01-01 00:00:00.000000', '2000-01-01 00:00:00.000000')`,
        [id, big.id],
      );
      await raw.run(
        `INSERT INTO approval_pin (approval_id, resource_id, kind, version, content) SELECT ?, id, kind, version, content FROM resource WHERE id IN (${ph})`,
        [id, ...closureIds],
      );
      await raw.run(
        `INSERT INTO approval_remote_snapshot (approval_id, resource_id, path, entity_type, remote_key_payload, entity)
         SELECT ?, l.resource_id, l.path, r.entity_type, r.remote_key_payload, r.cached_entity FROM remote_link l JOIN remote_ref r ON r.id = l.remote_ref_id
         WHERE l.resource_id IN (${ph})`,
        [id, ...closureIds],
      );
      await raw.run('COMMIT');
    };

    const labels = {
      approve: 'approveDeploymentIntentGroup (GraphQL)',
      read: 'approval read: pins + snapshots + stale (GraphQL)',
      small: 'approval read, small closure (GraphQL)',
      floorRead: 'floor: raw SQL read of the pins (1 query)',
      floorApprove: 'floor: raw INSERT … SELECT of the known pins (1 transaction)',
    };
    const cases = [
      {
        label: labels.approve,
        spec: {
          op: approve(big.id),
          check: (r: unknown) => {
            bigApprovalId = (r as { approveDeploymentIntentGroup: { id: string } }).approveDeploymentIntentGroup.id;
          },
          ...counted,
        },
      },
      {
        label: labels.read,
        spec: { op: () => a.post(READ_APPROVAL, { id: bigApprovalId }), check: checkRead(options.closure), ...counted },
      },
      {
        label: labels.small,
        spec: { op: () => a.post(READ_APPROVAL, { id: smallApproval.id }), check: checkRead(smallClosure), ...counted },
      },
      { label: labels.floorRead, spec: { op: rawRead, check: checkRead(options.closure), fixedStatements: 1 } },
      { label: labels.floorApprove, spec: { op: rawApprove, fixedStatements: 5 } },
    ];
    progress(`approval/${store}: ${cases.length} cases in ${options.warmup} warm-up + ${options.iterations} measured rounds`);
    const m = await measureInterleaved(cases, { warmup: options.warmup, iterations: options.iterations });
    const rows: ApprovalRow[] = cases.map(({ label }) => {
      const { samplesMs: _samples, ...summary } = m.get(label)!;
      progress(`approval/${store}: ${label}: median ${summary.medianMs} ms, p95 ${summary.p95Ms} ms, ${summary.statements} statements`);
      return { store, case: label, closure: label === labels.small ? smallClosure : options.closure, ...summary };
    });
    const row = (label: string) => rows.find((r) => r.case === label)!;
    row(labels.approve).xFloor = row(labels.approve).medianMs / row(labels.floorApprove).medianMs;
    row(labels.read).xFloor = row(labels.read).medianMs / row(labels.floorRead).medianMs;
    row(labels.floorRead).xFloor = 1;
    row(labels.floorApprove).xFloor = 1;

    const statements = {
      approve: await statementShapes(a.app.db.statementLog, async () => {
        bigApprovalId = (await approve(big.id)()).approveDeploymentIntentGroup.id;
      }),
      read: await statementShapes(a.app.db.statementLog, () => a.post(READ_APPROVAL, { id: bigApprovalId })),
    };
    return { store, closure: options.closure, smallClosure, setupSeconds, statements, rows };
  } finally {
    for (const stop of stops) await stop().catch((e) => progress(`approval/${store}: while stopping: ${(e as Error).message}`));
  }
}
