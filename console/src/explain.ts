import { ApiError, gql, unknownField } from './api.js';
import type { Blocker, Explanation, ExplanationMode, Node } from './queries.js';
import { QUEUE_PLAIN, QUEUE_WITH_EXPLANATION } from './queries.js';

/**
 * Whether the subgraph answers `Resource.deletion` (the typed explanation), and whether its
 * blockers take a page. Before it does, the console explains from `deletionQueue` (blockers,
 * pinnedBy, deleteAfter) and says so. Learned from the first answer, then remembered.
 */
let mode: ExplanationMode | 'none' | undefined;

const unknownPage = (e: unknown) =>
  e instanceof ApiError && e.errors.some((x) => x.message.startsWith('Unknown argument "first" on field "DeletionExplanation.blockers"'));
const tooCostly = (e: unknown) => e instanceof ApiError && e.code === 'BAD_USER_INPUT' && /may return about \d+/.test(e.message);

/** Runs `withIt` in the mode the server supports, or `without` when it has no explanation. */
export async function withExplanation<T>(withIt: (mode: ExplanationMode) => Promise<T>, without: () => Promise<T>): Promise<T> {
  if (mode === 'none') return without();
  const tries: ExplanationMode[] = mode ? [mode] : ['paged', 'unpaged'];
  for (const m of tries) {
    try {
      const r = await withIt(m);
      mode = m;
      return r;
    } catch (e) {
      if (unknownField(e, 'deletion') || unknownField(e, 'explanation')) {
        mode = 'none';
        return without();
      }
      if (unknownPage(e)) continue;
      // A long list of unpaged explanations may be refused by the cost estimate: that list is explained the older way.
      if (tooCostly(e)) return without();
      throw e;
    }
  }
  return without();
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
    async (m) => (await gql<{ deletionQueue: QueueEntry[] }>(QUEUE_WITH_EXPLANATION(m))).deletionQueue,
    async () => (await gql<{ deletionQueue: PlainCandidate[] }>(QUEUE_PLAIN)).deletionQueue.map((c) => ({ resource: c.resource, deleteAfter: c.deleteAfter, explanation: fromCandidate(c) })),
  );
}
