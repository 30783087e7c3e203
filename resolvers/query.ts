import type { QueryResolvers } from './__generated__/resolvers-types.js';
import { selectedFields } from './support.js';

export const Query: QueryResolvers = {
  resource: (_, { id }, ctx) => ctx.loaders.resource.load(id),
  project: (_, args, ctx) => ctx.engine.findByIdentity('Project', args, ctx.loaders, ctx.actor),
  projects: (_, { first, after }, ctx, info) => ctx.engine.list('Project', { first, after }, undefined, ctx.loaders, ctx.actor, selectedFields(info)),
  clusterProvider: (_, args, ctx) => ctx.engine.findByIdentity('ClusterProvider', args, ctx.loaders, ctx.actor),
  deploymentIntentGroup: (_, args, ctx) => ctx.engine.findByIdentity('DeploymentIntentGroup', args, ctx.loaders, ctx.actor),
  deploymentIntentGroups: (_, { project, first, after }, ctx, info) =>
    ctx.engine.list('DeploymentIntentGroup', { first, after }, { project }, ctx.loaders, ctx.actor, selectedFields(info)),
  employees: (_, { first, after }, ctx) => ctx.engine.browseRemote('Employee', { first, after }),
  remoteReference: (_, { id }, ctx) => ctx.loaders.remoteRef.load(id),
  deletionQueue: (_, { first }, ctx) => ctx.engine.deletionQueue(first, ctx.actor, ctx.loaders),
  approval: (_, { id }, ctx) => ctx.loaders.approval.load(id),
};
