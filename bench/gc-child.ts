/**
 * The GC benchmark's measured part, in a process of its own so that its RSS is not inflated by the
 * data generation (or by anything else the parent ran): `collect` starts the subgraph on the given
 * stores and runs collectGarbage(true) then collectGarbage(false); `load-all` holds every resource
 * in memory, as a reference for what the collector must not do. Prints one `@@RESULT@@ {json}` line.
 */
import { format } from 'node:util';
import type { GcReport } from '../src/engine/lifecycle/model.js';
import { startBenchApp } from './lib/app.js';
import { withMemoryPeak, type MemoryPeak } from './lib/memory.js';
import { openRaw } from './lib/raw.js';
import { round, shapeOf } from './lib/stats.js';

// Whatever a library prints goes to stderr: stdout carries the result line only.
console.log = console.info = console.warn = (...args: unknown[]) => void process.stderr.write(`${format(...args)}\n`);

export interface GcPhase {
  phase: string;
  ms: number;
  statements: number;
}

export interface CollectRun {
  ids: string[];
  archived: number;
  blockedReported: number;
  orphanRemoteRefsDeleted: number;
  statements: number;
  batches: number;
  transactions: number;
  byVerb: Record<string, number>;
  phases: GcPhase[];
  /** Where the time went: gaps from each statement to the next, summed by statement shape, largest first. */
  slowest: { ms: number; count: number; sql: string }[];
  memory: MemoryPeak;
}

export interface ChildResult {
  dryRun?: CollectRun;
  run?: CollectRun;
  loadAll?: { rows: number; memory: MemoryPeak };
}

/** Phases of a run, from the first statement that starts each (see GarbageCollector.collect). */
const PHASES: [string, RegExp][] = [
  ['lease, candidates (INSERT … SELECT marked and due)', /^/],
  ['fixpoint (drop referred-to and pinned)', /^\s*SELECT DISTINCT f\.to_id AS id FROM resource_ref f/],
  ['delete batches (peel from the leaves, archive)', /^\s*SELECT c\.resource_id FROM gc_candidate c WHERE c\.run_token = \?/],
  ['dry-run listing and orphan count', /^\s*SELECT c\.resource_id, r\.kind FROM gc_candidate c/],
  ['orphan remote_ref rows', /^\s*SELECT r\.id FROM remote_ref r WHERE NOT EXISTS/],
  [
    'report (what stayed, and why)',
    /^\s*SELECT id, kind, natural_key, name, parent_id, content, version, status, created_at, updated_at, marked_at, delete_after, mark_id(, marked_by)?\s+FROM resource WHERE status = 'MARKED_FOR_DELETION' ORDER BY marked_at/,
  ],
];

function analyse(log: { t: number; sql: string }[], t0: number, t1: number) {
  const starts: { phase: string; at: number; index: number }[] = [];
  for (const [phase, re] of PHASES) {
    const from = starts.length ? starts[starts.length - 1].index : 0;
    const index = log.findIndex((l, i) => i >= from && re.test(l.sql));
    if (index >= 0) starts.push({ phase, at: index === 0 ? t0 : log[index].t, index });
  }
  const phases = starts.map((s, i) => {
    const next = starts[i + 1];
    return { phase: s.phase, ms: round((next ? next.at : t1) - s.at), statements: (next ? next.index : log.length) - s.index };
  });
  // Time from one statement to the next (the statement, plus the JavaScript after it), summed by the statement's shape.
  const shapes = new Map<string, { ms: number; count: number }>();
  log.forEach((l, i) => {
    const shape = shapeOf(l.sql);
    const s = shapes.get(shape) ?? { ms: 0, count: 0 };
    s.ms += (i + 1 < log.length ? log[i + 1].t : t1) - l.t;
    s.count++;
    shapes.set(shape, s);
  });
  const slowest = [...shapes.entries()]
    .map(([sql, s]) => ({ ms: round(s.ms), count: s.count, sql }))
    .sort((x, y) => y.ms - x.ms)
    .slice(0, 10);
  const byVerb: Record<string, number> = {};
  for (const { sql } of log) {
    const verb = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? '?';
    byVerb[verb] = (byVerb[verb] ?? 0) + 1;
  }
  return {
    statements: log.length,
    batches: log.filter((l) => /^\s*DELETE FROM resource WHERE id IN/i.test(l.sql)).length,
    transactions: log.filter((l) => /^\s*(BEGIN|START TRANSACTION)/i.test(l.sql)).length,
    byVerb,
    phases,
    slowest,
  };
}

async function collect(opUrl: string, clientUrl: string): Promise<ChildResult> {
  const a = await startBenchApp(opUrl, clientUrl);
  try {
    const once = async (dryRun: boolean): Promise<CollectRun> => {
      const log: { t: number; sql: string }[] = [];
      let sampleNow = () => {};
      const stop = a.app.db.statementLog.listen((sql) => {
        log.push({ t: performance.now(), sql });
        sampleNow();
      });
      let t0 = 0;
      try {
        const { result, memory } = await withMemoryPeak((sample) => {
          sampleNow = sample;
          t0 = performance.now();
          return a.app.engine.collectGarbage(dryRun);
        });
        const report = result as GcReport;
        return {
          ids: report.deleted,
          archived: report.archived,
          blockedReported: report.blocked.length,
          orphanRemoteRefsDeleted: report.orphanRemoteRefsDeleted,
          ...analyse(log, t0, t0 + memory.ms),
          memory,
        };
      } finally {
        stop();
      }
    };
    const dryRun = await once(true);
    const run = await once(false);
    return { dryRun, run };
  } finally {
    await a.stop();
  }
}

async function loadAll(opUrl: string): Promise<ChildResult> {
  const raw = await openRaw(opUrl);
  try {
    const { result, memory } = await withMemoryPeak(async (sample) => {
      const rows = await raw.all<{ content: string }>(
        `SELECT id, kind, natural_key, name, parent_id, content, version, status, created_at, updated_at, marked_at, delete_after, mark_id FROM resource`,
      );
      const parsed = rows.map((r) => ({ ...r, content: JSON.parse(r.content) as unknown }));
      sample();
      return parsed.length;
    });
    return { loadAll: { rows: result, memory } };
  } finally {
    await raw.close();
  }
}

const [mode, opUrl, clientUrl] = process.argv.slice(2);
const result = mode === 'collect' ? await collect(opUrl, clientUrl) : await loadAll(opUrl);
process.stdout.write(`@@RESULT@@ ${JSON.stringify(result)}\n`);
