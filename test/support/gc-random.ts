/** Shared by the random-replica test and its workers: a seeded RNG, the name space, the counts. */

/** mulberry32: a small seeded PRNG, so a worker's choices can be replayed from its seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** Small on purpose: replicas keep meeting each other's resources (and refusals). */
export const RANDOM_NAMES = {
  providers: names('rp', 3),
  clusters: names('c', 5),
  projects: names('pr', 3),
  logicalClusters: names('lc', 3),
  apps: names('a', 3),
  profiles: names('f', 2),
  groups: names('g', 5),
};

export interface RandomStats {
  ok: Record<string, number>;
  refused: Record<string, Record<string, number>>;
  gcDeleted: number;
  gcRuns: number;
  gcBusy: number;
  gcLeaseLost: number;
  deadlocksLeaked: number;
}
