import { ApiError, gql, unknownField } from './api.js';
import type { Blocker, Explanation, Node } from './queries.js';
import { QUEUE_PLAIN, QUEUE_WITH_EXPLANATION } from './queries.js';

/**
 * Whether the subgraph answers `Resource.deletion` (the typed explanation). Before it does, the
 * console explains from `deletionQueue` (blockers, pinnedBy, deleteAfter) and says so.
 */
let hasExplanation: boolean | undefined;

export const explanationKnown = (): boolean | undefined => hasExplanation;

/** Runs `withIt`, or `without` when the server rejects the explanation fields (remembered). */
export async function withExplanation<T>(withIt: () => Promise<T>, without: () => Promise<T>): Promise<T> {
  if (hasExplanation === false) return without();
  try {
    const r = await withIt();
    hasExplanation = true;
    return r;
  } catch (e) {
    if (unknownField(e, 'deletion') || unknownField(e, 'explanation')) {
      hasExplanation = false;
      return without();
    }
    // A long list of explanations may be refused by the cost estimate: that list is explained the older way.
    if (e instanceof ApiError && e.code === 'BAD_USER_INPUT' && /may return about \d+/.test(e.message)) return without();
    throw e;
  }
}

export interface PlainCandidate {
  resource: Node;
  deleteAfter: string;
  blockers: { path: string; from: Node }[];
  pinnedBy: { id: string; resource?: Node | null }[];
}

/** The typed explanation as far as a deletionQueue entry tells it. */
export function fromCandidate(c: PlainCandidate, now = Date.now()): Explanation {
  const blockers: Blocker[] = [];
  if (new Date(c.deleteAfter).getTime() > now) blockers.push({ reason: 'RETENTION', until: c.deleteAfter });
  for (const b of c.blockers) blockers.push({ reason: 'REFERENCED', from: b.from, path: b.path });
  for (const a of c.pinnedBy) blockers.push({ reason: 'PINNED', approval: a });
  return { collectable: blockers.length === 0, blockers, approximate: true };
}

export interface QueueEntry {
  resource: Node;
  deleteAfter: string;
  explanation: Explanation;
}

export function queue(): Promise<QueueEntry[]> {
  return withExplanation(
    async () => (await gql<{ deletionQueue: QueueEntry[] }>(QUEUE_WITH_EXPLANATION)).deletionQueue,
    async () => (await gql<{ deletionQueue: PlainCandidate[] }>(QUEUE_PLAIN)).deletionQueue.map((c) => ({ resource: c.resource, deleteAfter: c.deleteAfter, explanation: fromCandidate(c) })),
  );
}
