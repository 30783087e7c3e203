import type { MutationResolvers } from './__generated__/resolvers-types.js';
import type { GraphQLContext } from './context.js';

/** The shared mutations; each kind's create, update and approve come from the relationship schema (kinds.ts). */
const writes: MutationResolvers = {
  applyRemoteChanges: (_, { events }, ctx) => ctx.engine.applyRemoteChanges(events),
  markForDeletion: (_, { id }, ctx) => ctx.engine.markForDeletion(id, ctx.actor),
  revokeApproval: (_, { id }, ctx) => ctx.engine.revokeApproval(id, ctx.actor),
  cancelDeletion: (_, { id }, ctx) => ctx.engine.cancelDeletion(id, ctx.actor),
  collectGarbage: (_, { dryRun }, ctx) => ctx.engine.collectGarbage(dryRun ?? false, ctx.actor),
  pruneHistory: (_, { olderThan, keepLast }, ctx) => ctx.engine.pruneHistory({ olderThan, keepLast }, ctx.actor),
};

type Field = (parent: unknown, args: unknown, ctx: GraphQLContext, info: unknown) => unknown;

/**
 * Every mutation field writes (or may): once it has run, done or refused, the request forgets
 * what it read before (Loaders.forget), so the field's own result and every later field of the
 * operation read the written state, not a cached earlier one. Applied to all fields at once, so a
 * new mutation cannot miss it.
 */
const forgettingAfter =
  (write: Field): Field =>
  async (parent, args, ctx, info) => {
    try {
      return await write(parent, args, ctx, info);
    } finally {
      ctx.loaders.forget();
    }
  };

/** The shared mutations and the derived ones (`derived`), each forgetting after it has run. */
export const mutationResolvers = (derived: Record<string, unknown>): MutationResolvers =>
  Object.fromEntries(
    Object.entries({ ...writes, ...derived }).map(([name, write]) => [name, forgettingAfter(write as Field)]),
  ) as MutationResolvers;
