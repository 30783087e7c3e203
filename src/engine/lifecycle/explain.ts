import type { Db } from '../../data/db.js';
import type { Timestamp } from '../../data/time.js';
import type { ApprovalRecord } from '../approvals/model.js';
import type { ReferenceRecord, ResourceRecord } from '../resources/model.js';
import { referencesTo, resourcesByIds } from '../resources/store.js';
import type { RelationshipSchema } from '../../model/model.js';
import { ancestorBlockers } from './ancestors.js';
import type { DeletionBlockerRecord, DeletionCandidateRecord, DeletionExplanationRecord, LeaseState } from './model.js';
import { approvalsPinning } from './queries.js';
import { descendantsOf } from './subtree.js';
import { groupBy } from '../../util/group-by.js';

/**
 * One explanation of deletion, for the queue, the collection report, markForDeletion and
 * `Resource.deletion` alike. It applies the collector's rules (collector.ts) with the collector's
 * set queries (the reference index, the ancestor rule's holding references, pins in force):
 *   a marked resource X is collected when it is due, unpinned, and everything that refers to X,
 *   or (through a reference that holds its subtree) to one of X's ancestors, is collected too.
 * "Collected too" is the collector's fixpoint: the largest set of due, unpinned marked resources
 * that only each other hold. Every blocker named is a holder outside that set (or retention, or a
 * pin), so a marked resource's blockers are empty exactly when the collector would take it.
 *
 * An unmarked resource is explained as if it were marked now with its subtree and its retention
 * had passed, each such preview in a world of its own: NOT_MARKED, then what would stop its
 * deletion (retention delays it, it does not stop it; and a preview that read the clock would
 * answer differently from one instant to the next).
 */

/** What can hold one resource back: every reference into it (children's included), holding references into its ancestors, pins in force. */
interface Holds {
  record: ResourceRecord;
  incoming: ReferenceRecord[];
  intoAncestors: ReferenceRecord[];
  pins: ApprovalRecord[];
}

/** When a resource is due in one world (marked), or null (not marked there). */
type World = (id: string) => Timestamp | null;

export interface ExplainOptions {
  /** The maintenance lease's holder now, if a run holds it. */
  lease: () => Promise<LeaseState | null>;
}

export async function explainDeletion(
  db: Db,
  schema: RelationshipSchema,
  records: readonly ResourceRecord[],
  options: ExplainOptions,
): Promise<DeletionExplanationRecord[]> {
  if (!records.length) return [];
  const now = await db.now();
  const lease = await options.lease();
  const unmarked = records.filter((r) => r.status !== 'MARKED_FOR_DELETION');
  // A preview marks the subtree too: its descendants are read up front, each level one statement.
  const descendants = unmarked.length ? await descendantsOf(db, [...new Set(unmarked.map((r) => r.id))]) : [];
  const holds = await readHolds(db, schema, [...records, ...descendants]);

  const real: World = (id) => {
    const r = holds.get(id)?.record;
    return r && r.status === 'MARKED_FOR_DELETION' ? r.deleteAfter : null;
  };
  const marked = records.filter((r) => r.status === 'MARKED_FOR_DELETION');
  const realSet = collectedSet(
    holds,
    real,
    now,
    marked.map((r) => r.id),
  );

  return records.map((r) => {
    let world = real;
    let collected = realSet;
    if (r.status !== 'MARKED_FOR_DELETION') {
      const subtree = subtreeOf(holds, r.id);
      world = (id) => {
        const held = holds.get(id)?.record;
        if (held && subtree.has(id) && held.status !== 'MARKED_FOR_DELETION') return now;
        return real(id);
      };
      collected = collectedSet(holds, world, now, [r.id]);
    }
    const blockers = blockersOf(holds, r.id, world, collected, now);
    if (r.status !== 'MARKED_FOR_DELETION') blockers.unshift({ reason: 'NOT_MARKED' });
    return { resourceId: r.id, collectable: blockers.length === 0, blockers, lease };
  });
}

/**
 * Reads what holds `seeds` and, transitively, every marked resource that holds one of them: the
 * collector's set queries, once per round for the whole round (never once per resource).
 */
async function readHolds(db: Db, schema: RelationshipSchema, seeds: readonly ResourceRecord[]): Promise<Map<string, Holds>> {
  const holds = new Map<string, Holds>();
  const read = new Map<string, ResourceRecord>(seeds.map((r) => [r.id, r]));
  let frontier = [...new Map(seeds.map((r) => [r.id, r])).values()];
  while (frontier.length) {
    const ids = frontier.map((r) => r.id);
    const incoming = groupBy(await referencesTo(db, ids), (f) => f.toId);
    const pins = await approvalsPinning(db, ids);
    const viaAncestors = await ancestorBlockers(db, schema, frontier);
    for (const r of frontier) {
      holds.set(r.id, {
        record: r,
        incoming: incoming.get(r.id) ?? [],
        intoAncestors: viaAncestors.get(r.id) ?? [],
        pins: pins.get(r.id) ?? [],
      });
    }
    const holders = new Set(frontier.flatMap((r) => holdersOf(holds.get(r.id)!)));
    const unread = [...holders].filter((id) => !read.has(id));
    for (const r of await resourcesByIds(db, unread)) read.set(r.id, r);
    // An unmarked holder holds whatever the rest is: only marked ones need their own holds read.
    frontier = [...holders]
      .map((id) => read.get(id))
      .filter((r): r is ResourceRecord => !!r && r.status === 'MARKED_FOR_DELETION' && !holds.has(r.id));
  }
  return holds;
}

/** Whoever, if not collected, keeps `h` from being collected (itself left out, as the collector does). */
const holdersOf = (h: Holds): string[] => [...h.incoming, ...h.intoAncestors].map((f) => f.fromId).filter((id) => id !== h.record.id);

/**
 * The collector's fixpoint, over what can reach `roots`: start with the due, unpinned marked
 * resources, drop each one held by something outside the set, until nothing changes.
 */
function collectedSet(holds: Map<string, Holds>, world: World, now: Timestamp, roots: readonly string[]): Set<string> {
  const relevant = new Set<string>();
  for (const stack = [...roots]; stack.length; ) {
    const id = stack.pop()!;
    const h = holds.get(id);
    if (!h || relevant.has(id)) continue;
    relevant.add(id);
    stack.push(...holdersOf(h));
  }
  const set = new Set(
    [...relevant].filter((id) => {
      const due = world(id);
      return due !== null && due <= now && holds.get(id)!.pins.length === 0;
    }),
  );
  for (let changed = true; changed; ) {
    changed = false;
    for (const id of set) {
      if (holdersOf(holds.get(id)!).some((from) => !set.has(from))) {
        set.delete(id);
        changed = true;
      }
    }
  }
  return set;
}

/** The resource and its descendants among what was read, through the children's `parent` references. */
function subtreeOf(holds: Map<string, Holds>, id: string): Set<string> {
  const out = new Set<string>();
  for (const stack = [id]; stack.length; ) {
    const at = stack.pop()!;
    if (out.has(at)) continue;
    out.add(at);
    for (const f of holds.get(at)?.incoming ?? []) if (f.type === 'CHILD') stack.push(f.fromId);
  }
  return out;
}

/** Every reason `id` is outside the collected set of its world, in a stable order. */
function blockersOf(holds: Map<string, Holds>, id: string, world: World, collected: Set<string>, now: Timestamp): DeletionBlockerRecord[] {
  const h = holds.get(id)!;
  const out: DeletionBlockerRecord[] = [];
  const due = world(id);
  if (due !== null && due > now) out.push({ reason: 'RETENTION', until: due });
  for (const ref of h.incoming) {
    if (ref.fromId === id || collected.has(ref.fromId)) continue;
    out.push(ref.type === 'CHILD' ? { reason: 'DESCENDANT_HELD', ref } : { reason: 'REFERENCED', ref });
  }
  for (const ref of h.intoAncestors) if (!collected.has(ref.fromId)) out.push({ reason: 'ANCESTOR_REFERENCED', ref });
  // A pinned descendant holds its ancestors: the approval is named on each of them.
  const approvals = new Map<string, ApprovalRecord>();
  for (const d of subtreeOf(holds, id)) for (const a of holds.get(d)?.pins ?? []) approvals.set(a.id, a);
  const pins = [...approvals.values()].sort((a, b) =>
    a.approvedAt < b.approvedAt ? -1 : a.approvedAt > b.approvedAt ? 1 : a.id < b.id ? -1 : 1,
  );
  for (const approval of pins) out.push({ reason: 'PINNED', approval });
  return out;
}

/** Explains a batch of resources (explainDeletion with the engine's settings). */
export type Explain = (records: readonly ResourceRecord[]) => Promise<DeletionExplanationRecord[]>;

/** Queue and report entries: the explanation, and its references and approvals as the older fields list them. */
export function candidatesOf(
  records: readonly ResourceRecord[],
  explanations: readonly DeletionExplanationRecord[],
): DeletionCandidateRecord[] {
  return records.map((resource, i) => {
    const explanation = explanations[i];
    const blockers = explanation.blockers.flatMap((b) => ('ref' in b ? [b.ref] : []));
    const pinnedBy = explanation.blockers.flatMap((b) => (b.reason === 'PINNED' ? [b.approval] : []));
    return { resource, deleteAfter: resource.deleteAfter!, blockers, pinnedBy, explanation };
  });
}
