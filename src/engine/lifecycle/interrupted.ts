/**
 * A maintenance run that failed after some of its batches were committed. Each batch is a
 * transaction of its own, so what was committed stays; the caller is told how much, whatever
 * stopped the run (a lost lease, a store outage). `cause` is what stopped it.
 */
export class InterruptedRunError extends Error {
  constructor(
    /** What was done before the run stopped, in words: "12 resources collected (10 archived)". */
    readonly done: string,
    /** The same as data, for the caller's error extensions. */
    readonly progress: Record<string, unknown>,
    /** How many items (resources, versions) were committed: 0 when the run stopped before its first batch. */
    readonly committed: number,
    cause: unknown,
  ) {
    super(`maintenance run stopped after ${done}`, { cause });
    this.name = 'InterruptedRunError';
  }
}

/** How many ids of the collected resources an interrupted run names (the count is always exact). */
export const IDS_NAMED = 50;
