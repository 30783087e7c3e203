import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * `npm run bench` runs plain `tsx`, without --expose-gc; the flag can still be set at run time and
 * the collector reached through a fresh context. Forcing a collection before a baseline makes the
 * heap deltas mean something.
 */
setFlagsFromString('--expose-gc');
const gcFn = runInNewContext('gc') as (() => void) | undefined;

export function forceGc(): void {
  gcFn?.();
  gcFn?.();
}

export interface MemoryPeak {
  /** Wall time of `fn`, from after the baseline's forced collection. */
  ms: number;
  /** Peak minus the baseline taken (after a forced collection) when sampling started, in MB. */
  rssDeltaMb: number;
  heapDeltaMb: number;
  baselineRssMb: number;
  baselineHeapMb: number;
  samples: number;
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

/**
 * Samples process.memoryUsage() every `everyMs` while `fn` runs and reports the peaks over the
 * baseline. better-sqlite3 answers synchronously, so on SQLite a run may never yield to the timer:
 * `fn` gets `sample` to call from somewhere that does run (a statement listener).
 */
export async function withMemoryPeak<T>(fn: (sample: () => void) => Promise<T>, everyMs = 10): Promise<{ result: T; memory: MemoryPeak }> {
  forceGc();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakHeap = base.heapUsed;
  let samples = 0;
  const sample = () => {
    const m = process.memoryUsage();
    samples++;
    if (m.rss > peakRss) peakRss = m.rss;
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
  };
  const timer = setInterval(sample, everyMs);
  const t0 = performance.now();
  try {
    const result = await fn(sample);
    const ms = Math.round((performance.now() - t0) * 100) / 100;
    sample();
    return {
      result,
      memory: {
        ms,
        rssDeltaMb: mb(peakRss - base.rss),
        heapDeltaMb: mb(peakHeap - base.heapUsed),
        baselineRssMb: mb(base.rss),
        baselineHeapMb: mb(base.heapUsed),
        samples,
      },
    };
  } finally {
    clearInterval(timer);
  }
}
