/**
 * A replica for the multi-process garbage-collection tests (test/gc-replicas.test.ts): its own
 * Db and Engine on the shared MariaDB database, reporting to the gc_test_* tables.
 *
 *   node --import tsx test/support/gc-worker.ts collect <url> <worker> [startFlag|-] [start|pauseBeforeTransaction]
 *     Runs one collection through Maintenance (retrying on MAINTENANCE_BUSY like an operator) with an
 *     instrumented collector. With a pause point it parks at the start of its run, before that
 *     fenced transaction (outside any transaction) or, with `inside:N`, inside the Nth fenced
 *     transaction before its commit (holding its locks) until the `continue-<worker>` flag is set:
 *     the test SIGSTOPs it there.
 *     Exit 0 when done, 3 when a fenced write was refused (LeaseLostError), 4 when the transaction it
 *     parked inside was ended by the server, 1 on any other error.
 *
 *   node --import tsx test/support/gc-worker.ts random <url> <worker> <seed> <durationMs> [loops]
 *     Random operations through the Engine for a while; domain refusals are counted, anything else
 *     fails the worker (exit 1, logged as `unexpected`). Counts go to gc_test_log as `stats`.
 *
 * Settings come from the environment: GC_CLIENT_URL (client store), GC_TTL (lease seconds),
 * GC_BATCH (resources per GC transaction).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { DomainError, type ErrorCode } from '../../src/engine/errors.js';
import type { Content } from '../../src/engine/resources/model.js';
import { LeaseLostError } from '../../src/maintenance/lease.js';
import { MaintenanceBusyError } from '../../src/maintenance/maintenance.js';
import { instrumentedMaintenance, log, openGcEngine, type GcEngine, type GcEngineOptions } from './gc-engine.js';
import { RANDOM_NAMES, mulberry32, type RandomStats as Stats } from './gc-random.js';

const [mode, url, worker, ...rest] = process.argv.slice(2);
if (!mode || !url || !worker) {
  console.error('usage: gc-worker.ts <collect|random> <url> <worker> …');
  process.exit(2);
}

const options: GcEngineOptions = {
  url,
  clientUrl: process.env.GC_CLIENT_URL ?? 'sqlite::memory:',
  leaseTtlSeconds: Number(process.env.GC_TTL ?? 2),
  gcBatchSize: Number(process.env.GC_BATCH ?? 20),
  transactionTimeoutSeconds: process.env.GC_TX_TIMEOUT ? Number(process.env.GC_TX_TIMEOUT) : undefined,
};

const g: GcEngine = await openGcEngine(options);

async function waitForFlag(flag: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const rows = await g.db.query(`SELECT name FROM gc_test_control WHERE name = ?`, [flag]);
    if (rows.length > 0) return;
    await delay(20);
  }
  throw new Error(`flag ${flag} never set`);
}

/** A fenced write refused: Maintenance reports it as MAINTENANCE_BUSY caused by the LeaseLostError. */
function leaseLost(e: unknown): LeaseLostError | undefined {
  if (e instanceof LeaseLostError) return e;
  return e instanceof MaintenanceBusyError && e.cause instanceof LeaseLostError ? e.cause : undefined;
}

async function collect(): Promise<void> {
  const [startFlag, pauseAt] = rest;
  let parkedInside = false;
  const park = async (token: number, where: string) => {
    await log(g.db, worker, 'paused-point', token, where);
    await waitForFlag(`continue-${worker}`);
    await log(g.db, worker, 'resumed', token, where);
  };
  const maintenance = instrumentedMaintenance(g, worker, options, {
    async beforeRun(token) {
      if (pauseAt === 'start') await park(token, 'start');
    },
    async beforeTransaction(n, token) {
      if (pauseAt !== undefined && pauseAt !== 'start' && n === Number(pauseAt)) await park(token, String(n));
    },
    async insideTransaction(n, token) {
      if (pauseAt === `inside:${n}`) {
        parkedInside = true;
        await park(token, pauseAt);
      }
    },
  });
  await log(g.db, worker, 'ready');
  if (startFlag && startFlag !== '-') await waitForFlag(startFlag);
  await log(g.db, worker, 'call');
  try {
    // Like an operator told MAINTENANCE_BUSY: try again until the other run is done.
    let report: Awaited<ReturnType<typeof maintenance.collectGarbage>> | undefined;
    while (!report) {
      try {
        report = await maintenance.collectGarbage(false);
      } catch (e) {
        if (!(e instanceof MaintenanceBusyError) || leaseLost(e)) throw e;
        await log(g.db, worker, 'busy', null, JSON.stringify(e.details));
        await delay(50);
      }
    }
    await log(g.db, worker, 'done', null, JSON.stringify({ deleted: report.deleted, blocked: report.blocked.map((b) => b.resource.id) }));
  } catch (e) {
    const lost = leaseLost(e);
    if (parkedInside && !lost) {
      await log(g.db, worker, 'tx-ended', null, (e as Error).message);
      process.exitCode = 4;
      return;
    }
    if (!lost) throw e;
    await log(g.db, worker, 'lease-lost', lost.token, (e as Error).message);
    process.exitCode = 3;
  }
}

// ---------------------------------------------------------------------------------------------
// Random operations

type Rng = () => number;
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)];
const chance = (rng: Rng, p: number) => rng() < p;

const N = RANDOM_NAMES;
const clusterKey = (rng: Rng) => ({ provider: pick(rng, N.providers), name: pick(rng, N.clusters) });
const profileOf = (rng: Rng) => ({
  project: pick(rng, N.projects),
  compositeApp: pick(rng, N.apps),
  compositeProfile: pick(rng, N.profiles),
});

function clusterList(rng: Rng): Content[] {
  const out = new Map<string, Content>();
  const n = Math.floor(rng() * 4);
  for (let i = 0; i < n; i++) {
    const k = clusterKey(rng);
    out.set(`${k.provider}/${k.name}`, k);
  }
  return [...out.values()];
}

/** Refusals each operation may meet when replicas race; anything else is a failure. */
const EXPECTED: Record<string, ErrorCode[]> = {
  create: ['NOT_FOUND', 'ALREADY_EXISTS', 'REFERENCES_MARKED_RESOURCE'],
  updateGroup: ['NOT_FOUND', 'RESOURCE_MARKED_FOR_DELETION', 'REFERENCES_MARKED_RESOURCE', 'VERSION_CONFLICT'],
  updateCluster: ['NOT_FOUND', 'RESOURCE_MARKED_FOR_DELETION', 'VERSION_CONFLICT'],
  mark: ['NOT_FOUND'],
  // Not marked (any more), or part of the mark was collected.
  cancel: ['NOT_FOUND', 'BAD_USER_INPUT'],
  gc: [],
};

class Unexpected extends Error {}

async function random(): Promise<void> {
  const [seedArg, durationArg, loopsArg] = rest;
  const seed = Number(seedArg);
  const until = Date.now() + Number(durationArg);
  const loops = Number(loopsArg ?? 2);
  const { engine, db } = g;
  const stats: Stats = { ok: {}, refused: {}, gcDeleted: 0, gcRuns: 0, gcBusy: 0, gcLeaseLost: 0, deadlocksLeaked: 0 };
  await log(db, worker, 'ready', null, String(seed));
  await waitForFlag('start');

  const find = (kind: string, identity: Record<string, unknown>) => engine.findByIdentity(kind, identity);

  /** One random operation: its name for the counts, and the call. */
  function operation(rng: Rng): [string, () => Promise<unknown>] {
    const r = rng() * 100;
    if (r < 3) return ['create', () => engine.create('ClusterProvider', { name: pick(rng, N.providers) })];
    if (r < 10) return ['create', () => engine.create('Cluster', clusterKey(rng))];
    if (r < 13) return ['create', () => engine.create('Project', { name: pick(rng, N.projects) })];
    if (r < 18)
      return ['create', () => engine.create('LogicalCluster', { project: pick(rng, N.projects), name: pick(rng, N.logicalClusters) })];
    if (r < 23) return ['create', () => engine.create('CompositeApp', { project: pick(rng, N.projects), name: pick(rng, N.apps) })];
    if (r < 30) {
      const p = profileOf(rng);
      return [
        'create',
        () => engine.create('CompositeProfile', { project: p.project, compositeApp: p.compositeApp, name: p.compositeProfile }),
      ];
    }
    if (r < 52) {
      const content: Content = { ...profileOf(rng), name: pick(rng, N.groups), clusters: clusterList(rng) };
      if (chance(rng, 0.7)) content.logicalCluster = pick(rng, N.logicalClusters);
      if (chance(rng, 0.3)) content.owner = { employeeId: `e-${1 + Math.floor(rng() * 20)}` };
      return ['create', () => engine.create('DeploymentIntentGroup', content)];
    }
    if (r < 68) {
      const identity = { ...profileOf(rng), name: pick(rng, N.groups) };
      const patch: Content = {};
      const what = rng();
      if (what < 0.5) patch.clusters = clusterList(rng);
      else if (what < 0.7) patch.logicalCluster = chance(rng, 0.3) ? null : pick(rng, N.logicalClusters);
      else if (what < 0.85) patch.owner = chance(rng, 0.3) ? null : { employeeId: `e-${1 + Math.floor(rng() * 20)}` };
      else patch.description = `d${Math.floor(rng() * 1000)}`;
      const versionChoice = rng();
      return [
        'updateGroup',
        async () => {
          const current = await find('DeploymentIntentGroup', identity);
          if (!current) return 'absent';
          const expected = versionChoice < 0.4 ? current.version : versionChoice < 0.55 ? current.version - 1 : undefined;
          return engine.update('DeploymentIntentGroup', current.id, patch, expected);
        },
      ];
    }
    if (r < 72) {
      const key = clusterKey(rng);
      const labels = [`l${Math.floor(rng() * 5)}`];
      return [
        'updateCluster',
        async () => {
          const current = await find('Cluster', key);
          return current ? engine.update('Cluster', current.id, { labels }) : 'absent';
        },
      ];
    }
    if (r < 86) {
      const k = rng();
      const [kind, identity]: [string, Record<string, unknown>] =
        k < 0.25
          ? ['Cluster', clusterKey(rng)]
          : k < 0.32
            ? ['ClusterProvider', { name: pick(rng, N.providers) }]
            : k < 0.45
              ? ['CompositeApp', { project: pick(rng, N.projects), name: pick(rng, N.apps) }]
              : k < 0.55
                ? ['LogicalCluster', { project: pick(rng, N.projects), name: pick(rng, N.logicalClusters) }]
                : k < 0.62
                  ? ['Project', { name: pick(rng, N.projects) }]
                  : k < 0.7
                    ? ['CompositeProfile', { project: pick(rng, N.projects), compositeApp: pick(rng, N.apps), name: pick(rng, N.profiles) }]
                    : ['DeploymentIntentGroup', { ...profileOf(rng), name: pick(rng, N.groups) }];
      return [
        'mark',
        async () => {
          const target = await find(kind, identity);
          return target ? engine.markForDeletion(target.id) : 'absent';
        },
      ];
    }
    if (r < 96) {
      const which = rng();
      return [
        'cancel',
        async () => {
          const marked = await db.query<{ id: string }>(
            `SELECT id FROM resource WHERE status = 'MARKED_FOR_DELETION' ORDER BY id LIMIT 40`,
          );
          if (!marked.length) return 'absent';
          return engine.cancelDeletion(marked[Math.floor(which * marked.length)].id);
        },
      ];
    }
    return [
      'gc',
      async () => {
        const report = await engine.collectGarbage(false);
        stats.gcRuns++;
        stats.gcDeleted += report.deleted.length;
        return report;
      },
    ];
  }

  async function loop(index: number): Promise<void> {
    const rng = mulberry32(seed * 31 + index);
    while (Date.now() < until) {
      const [name, run] = operation(rng);
      try {
        const result = await run();
        if (result !== 'absent' && !(name === 'updateGroup' && result === null)) stats.ok[name] = (stats.ok[name] ?? 0) + 1;
      } catch (e) {
        if (e instanceof DomainError && EXPECTED[name].includes(e.code)) {
          stats.refused[name] ??= {};
          const byCode = stats.refused[name];
          byCode[e.code] = (byCode[e.code] ?? 0) + 1;
          continue;
        }
        // The lease's own refusals: waited too long for it, or stalled past it (fenced out).
        if (name === 'gc' && e instanceof MaintenanceBusyError && !(e.cause instanceof LeaseLostError)) {
          stats.gcBusy++;
          continue;
        }
        if (name === 'gc' && leaseLost(e)) {
          stats.gcLeaseLost++;
          continue;
        }
        const err = e as { errno?: number; driverError?: { errno?: number } };
        if ((err.driverError?.errno ?? err.errno) === 1213) stats.deadlocksLeaked++;
        await log(db, worker, 'unexpected', null, `${name} (seed ${seed}, loop ${index}): ${(e as Error).stack ?? String(e)}`);
        throw new Unexpected(`${name}: ${(e as Error).message}`);
      }
    }
  }

  try {
    await Promise.all(Array.from({ length: loops }, (_, i) => loop(i)));
  } finally {
    await log(db, worker, 'stats', null, JSON.stringify(stats));
  }
}

try {
  if (mode === 'collect') await collect();
  else if (mode === 'random') await random();
  else throw new Error(`unknown mode ${mode}`);
} catch (e) {
  console.error(e);
  await log(g.db, worker, 'error', null, (e as Error).stack ?? String(e)).catch(() => undefined);
  process.exitCode = 1;
} finally {
  await g.close();
}
