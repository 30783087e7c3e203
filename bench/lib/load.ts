import autocannon from 'autocannon';

/** One autocannon run: requests per second, latency percentiles and failures. */
export interface LoadResult {
  seconds: number;
  requests: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection errors, timeouts and non-2xx responses. */
  errors: number;
}

export async function load(options: autocannon.Options): Promise<LoadResult> {
  const r = await autocannon({ ...options });
  return {
    seconds: r.duration,
    requests: r.requests.total,
    reqPerSec: Math.round((r.requests.total / r.duration) * 10) / 10,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    errors: r.errors + r.timeouts + r.non2xx,
  };
}

/** Sums runs of one target: requests over total seconds, the mean p50 and the worst p99. */
export function combine(runs: LoadResult[]): LoadResult {
  const seconds = runs.reduce((s, r) => s + r.seconds, 0);
  const requests = runs.reduce((s, r) => s + r.requests, 0);
  return {
    seconds,
    requests,
    reqPerSec: Math.round((requests / seconds) * 10) / 10,
    p50Ms: Math.round((runs.reduce((s, r) => s + r.p50Ms, 0) / runs.length) * 10) / 10,
    p99Ms: Math.max(...runs.map((r) => r.p99Ms)),
    errors: runs.reduce((s, r) => s + r.errors, 0),
  };
}
