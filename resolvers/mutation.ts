import type { MutationResolvers } from './__generated__/resolvers-types.js';
import type { Content } from '../src/engine/resources/model.js';

/** GraphQL input objects are plain data; the engine validates them against the relationship schema. */
const content = (input: object) => input as Content;

export const Mutation: MutationResolvers = {
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
