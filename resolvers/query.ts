import type { QueryResolvers } from './__generated__/resolvers-types.js';
import { ConsoleQuery } from './console.js';

/** The shared queries; each kind's and remote type's come from the relationship schema (kinds.ts). */
export const Query: QueryResolvers = {
  resource: (_, { id }, ctx) => ctx.loaders.resource.load(id),
  remoteReference: (_, { id }, ctx) => ctx.loaders.remoteRef.load(id),
  deletionQueue: (_, { first }, ctx) => ctx.engine.deletionQueue(first, ctx.actor, ctx.loaders),
  approval: (_, { id }, ctx) => ctx.loaders.approval.load(id),
  ...ConsoleQuery,
};
