/** Benchmark settings from the environment, and progress lines on stderr (stdout carries the tables). */

export interface BenchOptions {
  /** Scale of the GC benchmark: 1 = 100,000 resources. */
  scale: number;
  /** When set, every benchmark also runs with the operational store on this MariaDB/MySQL server. */
  mysqlUrl?: string;
  /** Timed iterations and warm-ups of the list and approval-read measurements. */
  iterations: number;
  warmup: number;
  /** Groups listed by the list benchmark. */
  groups: number;
  /** Employees in the client store (owners of the groups). */
  employees: number;
  /** Resources in the approved closure. */
  closure: number;
  /**
   * engine.create calls in flight while setting up. On MariaDB concurrent creates deadlock on
   * resource_history (see bench/README.md), so the default there is 1.
   */
  createConcurrency: { sqlite: number; mariadb: number };
  /** The peer comparison: measured rounds, warm-up rounds, autocannon seconds per side. */
  compareRounds: number;
  /** Creates in the writes benchmark (10,000 × BENCH_SCALE). */
  writes: number;
  /** Seconds of the mixed load against two replicas (30). */
  loadSeconds: number;
  compareWarmup: number;
  throughputSeconds: number;
  /** Which benchmarks run: list, compare, writes, gc, approval, load, feed, console. */
  only: Set<string>;
}

export const BENCHMARKS = ['list', 'compare', 'writes', 'gc', 'approval', 'load', 'feed', 'console'];

function num(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, integer = true): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new Error(`${name} must be ${integer ? 'an integer' : 'a number'} of at least ${min} (got "${raw}")`);
  }
  return n;
}

export function benchOptions(env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const only = new Set(
    (env.BENCH_ONLY || BENCHMARKS.join(','))
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  for (const o of only) if (!BENCHMARKS.includes(o)) throw new Error(`BENCH_ONLY: unknown benchmark "${o}" (${BENCHMARKS.join(', ')})`);
  const mysqlUrl = env.BENCH_MYSQL_URL?.trim() || undefined;
  if (mysqlUrl && !/^(mysql|mariadb):\/\//.test(mysqlUrl)) throw new Error('BENCH_MYSQL_URL must be mysql://user:pass@host:port/db');
  return {
    scale: num(env, 'BENCH_SCALE', 1, 0.001, false),
    mysqlUrl: mysqlUrl?.replace(/^mariadb:/, 'mysql:'),
    iterations: num(env, 'BENCH_ITERATIONS', 15, 1),
    warmup: num(env, 'BENCH_WARMUP', 3, 0),
    groups: num(env, 'BENCH_GROUPS', 1000, 1),
    employees: num(env, 'BENCH_EMPLOYEES', 200, 20),
    closure: num(env, 'BENCH_CLOSURE', 1000, 10),
    createConcurrency: {
      sqlite: num(env, 'BENCH_CREATE_CONCURRENCY', 4, 1),
      mariadb: num(env, 'BENCH_CREATE_CONCURRENCY', 1, 1),
    },
    compareRounds: num(env, 'BENCH_ROUNDS', 40, 1),
    writes: num(env, 'BENCH_WRITES', Math.max(100, Math.round(10_000 * num(env, 'BENCH_SCALE', 1, 0.001, false))), 1),
    loadSeconds: num(env, 'BENCH_LOAD_SECONDS', 30, 2),
    compareWarmup: num(env, 'BENCH_ROUNDS_WARMUP', 10, 0),
    throughputSeconds: num(env, 'BENCH_THROUGHPUT_SECONDS', 10, 2),
    only,
  };
}

const started = Date.now();

/** A progress line on stderr, with the time since the run started. */
export function progress(message: string): void {
  const s = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${s}s] ${message}\n`);
}
