import type { MutationResolvers } from './__generated__/resolvers-types.js';
import type { Content } from '../src/engine/resources/model.js';
import type { GraphQLContext } from './context.js';

/** GraphQL input objects are plain data; the engine validates them against the relationship schema. */
const content = (input: object) => input as Content;

const writes: MutationResolvers = {
  createProject: (_, { input }, ctx) => ctx.engine.create('Project', content(input), ctx.actor),
  updateProject: (_, { id, input, expectedVersion }, ctx) => ctx.engine.update('Project', id, content(input), expectedVersion, ctx.actor),
  createCompositeApp: (_, { input }, ctx) => ctx.engine.create('CompositeApp', content(input), ctx.actor),
  updateCompositeApp: (_, { id, input, expectedVersion }, ctx) => ctx.engine.update('CompositeApp', id, content(input), expectedVersion, ctx.actor),
  createCompositeProfile: (_, { input }, ctx) => ctx.engine.create('CompositeProfile', content(input), ctx.actor),
  createLogicalCluster: (_, { input }, ctx) => ctx.engine.create('LogicalCluster', content(input), ctx.actor),
  createClusterProvider: (_, { input }, ctx) => ctx.engine.create('ClusterProvider', content(input), ctx.actor),
  createCluster: (_, { input }, ctx) => ctx.engine.create('Cluster', content(input), ctx.actor),
  updateCluster: (_, { id, input, expectedVersion }, ctx) => ctx.engine.update('Cluster', id, content(input), expectedVersion, ctx.actor),
  createDeploymentIntentGroup: (_, { input }, ctx) => ctx.engine.create('DeploymentIntentGroup', content(input), ctx.actor),
  updateDeploymentIntentGroup: (_, { id, input, expectedVersion }, ctx) =>
    ctx.engine.update('DeploymentIntentGroup', id, content(input), expectedVersion, ctx.actor),
  applyRemoteChanges: (_, { events }, ctx) => ctx.engine.applyRemoteChanges(events),
  markForDeletion: (_, { id }, ctx) => ctx.engine.markForDeletion(id, ctx.actor),
  approveDeploymentIntentGroup: (_, { id }, ctx) => ctx.engine.approve('DeploymentIntentGroup', id, ctx.actor),
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

export const Mutation = Object.fromEntries(Object.entries(writes).map(([name, write]) => [name, forgettingAfter(write as Field)])) as MutationResolvers;
