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
  /** Which benchmarks run: list, gc, approval, feed. */
  only: Set<string>;
}

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
  const only = new Set((env.BENCH_ONLY || 'list,gc,approval,feed').split(',').map((s) => s.trim()).filter(Boolean));
  for (const o of only) if (!['list', 'gc', 'approval', 'feed'].includes(o)) throw new Error(`BENCH_ONLY: unknown benchmark "${o}" (list, gc, approval, feed)`);
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
    only,
  };
}

const started = Date.now();

/** A progress line on stderr, with the time since the run started. */
export function progress(message: string): void {
  const s = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${s}s] ${message}\n`);
}
