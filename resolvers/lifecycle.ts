import type { DeletionCandidateResolvers, GarbageCollectionReportResolvers, MarkForDeletionResultResolvers } from './__generated__/resolvers-types.js';
import { firstOf } from './support.js';

/** Report lists take `first` like every other list: the engine already holds them, bounded. */

export const MarkForDeletionResult: MarkForDeletionResultResolvers = {
  marked: (m, args, ctx) => firstOf(m.marked, args, ctx, 1000),
  blockers: (m, args, ctx) => firstOf(m.blockers, args, ctx),
};

export const DeletionCandidate: DeletionCandidateResolvers = {
  blockers: (c, args, ctx) => firstOf(c.blockers, args, ctx),
  pinnedBy: (c, args, ctx) => firstOf(c.pinnedBy, args, ctx),
};

export const GarbageCollectionReport: GarbageCollectionReportResolvers = {
  blocked: (r, args, ctx) => firstOf(r.blocked, args, ctx, 1000),
};
