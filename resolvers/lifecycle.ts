import type {
  DeletionBlockerResolvers,
  DeletionCandidateResolvers,
  DeletionExplanationResolvers,
  GarbageCollectionReportResolvers,
  MarkForDeletionResultResolvers,
} from './__generated__/resolvers-types.js';
import type { ApprovalRecord } from '../src/engine/approvals/model.js';
import type { ReferenceRecord, ResourceRecord } from '../src/engine/resources/model.js';
import type { GraphQLContext } from './context.js';
import { firstOf } from './support.js';

/** Report lists take `first` like every other list: the engine already holds them, bounded. */

export const MarkForDeletionResult: MarkForDeletionResultResolvers = {
  marked: (m, args, ctx) => firstOf(m.marked, args, ctx, 1000),
  blockers: (m, args, ctx) => firstOf(m.blockers, args, ctx),
};

/** The references whose referrer the caller may read (a `ResourceReference.from` is never null). */
async function readable(refs: readonly ReferenceRecord[], ctx: GraphQLContext): Promise<ReferenceRecord[]> {
  const from = await ctx.loaders.resource.loadMany(refs.map((r) => r.fromId));
  return refs.filter((_, i) => isRecord(from[i]));
}

const isRecord = (r: ResourceRecord | null | Error | undefined): r is ResourceRecord => !!r && !(r instanceof Error);
const isApproval = (a: ApprovalRecord | null | Error | undefined): a is ApprovalRecord => !!a && !(a instanceof Error);

export const DeletionCandidate: DeletionCandidateResolvers = {
  blockers: async (c, args, ctx) => firstOf(await readable(c.blockers, ctx), args, ctx),
  pinnedBy: async (c, args, ctx) =>
    firstOf((await ctx.loaders.approval.loadMany(c.pinnedBy.map((a) => a.id))).filter(isApproval), args, ctx),
};

export const GarbageCollectionReport: GarbageCollectionReportResolvers = {
  blocked: (r, args, ctx) => firstOf(r.blocked, args, ctx, 1000),
};

export const DeletionExplanation: DeletionExplanationResolvers = {
  blockers: (e, args, ctx) => firstOf(e.blockers, args, ctx),
  leaseHolder: (e) => e.lease?.holder ?? null,
  leaseSince: (e) => e.lease?.since ?? null,
};

/** A resource the caller may read, else null (another project's referrer stays unnamed). */
const load = (id: string | undefined, ctx: GraphQLContext) => (id ? ctx.loaders.resource.load(id) : null);

export const DeletionBlocker: DeletionBlockerResolvers = {
  until: (b) => (b.reason === 'RETENTION' ? b.until : null),
  from: (b, _, ctx) => (b.reason === 'REFERENCED' || b.reason === 'ANCESTOR_REFERENCED' ? load(b.ref.fromId, ctx) : null),
  // Where in a referrer the caller may not read is not told either.
  path: async (b, _, ctx) =>
    (b.reason === 'REFERENCED' || b.reason === 'ANCESTOR_REFERENCED') && (await load(b.ref.fromId, ctx)) ? b.ref.path : null,
  ancestor: (b, _, ctx) => (b.reason === 'ANCESTOR_REFERENCED' ? load(b.ref.toId, ctx) : null),
  approval: (b, _, ctx) => (b.reason === 'PINNED' ? ctx.loaders.approval.load(b.approval.id) : null),
  descendant: (b, _, ctx) => (b.reason === 'DESCENDANT_HELD' ? load(b.ref.fromId, ctx) : null),
};
