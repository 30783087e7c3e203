import type { MutationResolvers } from './__generated__/resolvers-types.js';
import type { Content } from '../src/engine/resources/model.js';

/** GraphQL input objects are plain data; the engine validates them against the relationship schema. */
const content = (input: object) => input as Content;

export const Mutation: MutationResolvers = {
  createProject: (_, { input }, ctx) => ctx.engine.create('Project', content(input)),
  updateProject: (_, { id, input, expectedVersion }, ctx) => ctx.engine.update('Project', id, content(input), expectedVersion),
  createCompositeApp: (_, { input }, ctx) => ctx.engine.create('CompositeApp', content(input)),
  updateCompositeApp: (_, { id, input, expectedVersion }, ctx) => ctx.engine.update('CompositeApp', id, content(input), expectedVersion),
  createCompositeProfile: (_, { input }, ctx) => ctx.engine.create('CompositeProfile', content(input)),
  createLogicalCluster: (_, { input }, ctx) => ctx.engine.create('LogicalCluster', content(input)),
  createClusterProvider: (_, { input }, ctx) => ctx.engine.create('ClusterProvider', content(input)),
  createCluster: (_, { input }, ctx) => ctx.engine.create('Cluster', content(input)),
  updateCluster: (_, { id, input, expectedVersion }, ctx) => ctx.engine.update('Cluster', id, content(input), expectedVersion),
  createDeploymentIntentGroup: (_, { input }, ctx) => ctx.engine.create('DeploymentIntentGroup', content(input)),
  updateDeploymentIntentGroup: (_, { id, input, expectedVersion }, ctx) =>
    ctx.engine.update('DeploymentIntentGroup', id, content(input), expectedVersion),
  applyRemoteChanges: (_, { events }, ctx) => ctx.engine.applyRemoteChanges(events),
  markForDeletion: (_, { id }, ctx) => ctx.engine.markForDeletion(id),
  approveDeploymentIntentGroup: (_, { id }, ctx) => ctx.engine.approve('DeploymentIntentGroup', id),
  revokeApproval: (_, { id }, ctx) => ctx.engine.revokeApproval(id),
  cancelDeletion: (_, { id }, ctx) => ctx.engine.cancelDeletion(id),
  collectGarbage: (_, { dryRun }, ctx) => ctx.engine.collectGarbage(dryRun ?? false),
  pruneHistory: (_, { olderThan, keepLast }, ctx) => ctx.engine.pruneHistory({ olderThan, keepLast }),
};
