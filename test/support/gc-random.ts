/** Shared by the random-replica test and its workers: a seeded RNG, the name space, the counts. */

export { mulberry32 } from './random.js';

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
