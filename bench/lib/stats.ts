import { countStatements, type StatementLog } from '../../src/data/statement-log.js';
import type { RemoteSource } from '../../src/remote/sources/source.js';

export interface Summary {
  iterations: number;
  medianMs: number;
  p95Ms: number;
  minMs: number;
  maxMs: number;
  /** Per operation (the same every iteration unless noted by min/max). */
  statements: number;
  statementsMin: number;
  statementsMax: number;
  remoteQueries: number;
  /** CPU time of this process (user + system) per operation: client, subgraph and, on SQLite, the database. */
  cpuMs: number;
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Nearest-rank percentile of sorted samples. */
export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export interface MeasureSpec {
  warmup: number;
  iterations: number;
  /** Run before every iteration (warm-ups included), outside the timing and the counts. */
  before?: () => Promise<void>;
  /** The operation. Its result is passed to `check` after the timing. */
  op: () => Promise<unknown>;
  check?: (result: unknown) => void;
  statementLog?: StatementLog;
  source?: RemoteSource;
  /** For floors: statements and remote queries per operation, known by construction. */
  fixedStatements?: number;
  fixedRemoteQueries?: number;
}

interface Collected {
  samples: number[];
  statements: number[];
  remote: number[];
  cpu: number[];
}

async function once(spec: MeasureSpec, into: Collected | null): Promise<void> {
  await spec.before?.();
  let remoteQueries = 0;
  const stopRemote = spec.source?.onQuery(() => remoteQueries++);
  let result: unknown;
  let count = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  try {
    if (spec.statementLog) {
      const counted = await countStatements(spec.statementLog, spec.op);
      result = counted.result;
      count = counted.statements.length;
    } else {
      result = await spec.op();
    }
  } finally {
    stopRemote?.();
  }
  const ms = performance.now() - t0;
  const c1 = process.cpuUsage(c0);
  spec.check?.(result);
  if (!into) return;
  into.samples.push(ms);
  into.cpu.push((c1.user + c1.system) / 1000);
  into.statements.push(spec.statementLog ? count : (spec.fixedStatements ?? 0));
  into.remote.push(spec.source ? remoteQueries : (spec.fixedRemoteQueries ?? 0));
}

function summarize(c: Collected): Summary & { samplesMs: number[] } {
  const sorted = [...c.samples].sort((a, b) => a - b);
  return {
    iterations: c.samples.length,
    medianMs: round(median(c.samples)),
    p95Ms: round(percentile(sorted, 95)),
    minMs: round(sorted[0]),
    maxMs: round(sorted[sorted.length - 1]),
    statements: median(c.statements),
    statementsMin: Math.min(...c.statements),
    statementsMax: Math.max(...c.statements),
    remoteQueries: median(c.remote),
    cpuMs: round(median(c.cpu)),
    samplesMs: c.samples.map((s) => round(s, 3)),
  };
}

/** Warm-ups, then timed iterations: median and p95 of wall time, statements and remote queries per operation. */
export async function measure(spec: MeasureSpec): Promise<Summary & { samplesMs: number[] }> {
  const c: Collected = { samples: [], statements: [], remote: [], cpu: [] };
  for (let i = 0; i < spec.warmup; i++) await once(spec, null);
  for (let i = 0; i < spec.iterations; i++) await once(spec, c);
  return summarize(c);
}

/**
 * Several cases measured in rounds, one iteration of each case per round, in the order given: on
 * a busy machine, drift in load (and in the heap) then weighs on every case alike instead of on
 * whichever ran during a bad minute. Each case's `before` must establish its own starting state.
 */
export async function measureInterleaved(
  cases: readonly { label: string; spec: Omit<MeasureSpec, 'warmup' | 'iterations'> }[],
  rounds: { warmup: number; iterations: number },
  onRound?: (round: number) => void,
): Promise<Map<string, Summary & { samplesMs: number[] }>> {
  const collected = new Map(cases.map((c) => [c.label, { samples: [], statements: [], remote: [], cpu: [] } as Collected]));
  for (let r = 0; r < rounds.warmup + rounds.iterations; r++) {
    for (const c of cases) await once({ warmup: 0, iterations: 1, ...c.spec }, r < rounds.warmup ? null : collected.get(c.label)!);
    onRound?.(r);
  }
  return new Map(cases.map((c) => [c.label, summarize(collected.get(c.label)!)]));
}

export { round };

/** A statement with its IN lists and VALUES tuples collapsed, so statements of one kind group together. */
export function shapeOf(sql: string): string {
  return sql
    .replace(/\s+/g, ' ')
    .replace(/\?(, \?)+/g, '?…')
    .replace(/\(\?…\)(, \(\?…\))+/g, '(?…)…')
    .trim()
    .slice(0, 240);
}

/** The statements one run of `op` sends, grouped by shape, most frequent first. */
export async function statementShapes(log: StatementLog, op: () => Promise<unknown>): Promise<{ count: number; sql: string }[]> {
  const { statements } = await countStatements(log, op);
  const by = new Map<string, number>();
  for (const s of statements) by.set(shapeOf(s), (by.get(shapeOf(s)) ?? 0) + 1);
  return [...by.entries()].map(([sql, count]) => ({ count, sql })).sort((a, b) => b.count - a.count);
}
