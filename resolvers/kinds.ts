import type {
  ClusterProviderResolvers,
  ClusterResolvers,
  CompositeAppResolvers,
  CompositeProfileResolvers,
  DeploymentIntentGroupResolvers,
  LogicalClusterResolvers,
  ProjectResolvers,
} from './__generated__/resolvers-types.js';
import {
  childrenOfKind,
  contentList,
  contentString,
  entityOfKind,
  parentOf,
  referenceAt,
  referencesAt,
  remoteAt,
  resourceFields,
} from './support.js';

/** One entry per kind of the relationship schema: its own fields; the shared ones come from support.ts. */

export const Project: ProjectResolvers = {
  __resolveReference: entityOfKind('Project'),
  ...resourceFields,
  description: contentString('description'),
  billingAccount: remoteAt('billingAccount'),
  compositeApps: childrenOfKind('CompositeApp'),
  logicalClusters: childrenOfKind('LogicalCluster'),
};

export const CompositeApp: CompositeAppResolvers = {
  __resolveReference: entityOfKind('CompositeApp'),
  ...resourceFields,
  description: contentString('description'),
  project: parentOf,
  profiles: childrenOfKind('CompositeProfile'),
};

export const CompositeProfile: CompositeProfileResolvers = {
  __resolveReference: entityOfKind('CompositeProfile'),
  ...resourceFields,
  compositeApp: parentOf,
  deploymentIntentGroups: childrenOfKind('DeploymentIntentGroup'),
};

export const DeploymentIntentGroup: DeploymentIntentGroupResolvers = {
  __resolveReference: entityOfKind('DeploymentIntentGroup'),
  ...resourceFields,
  description: contentString('description'),
  compositeProfile: parentOf,
  logicalCluster: referenceAt('logicalCluster'),
  clusters: referencesAt('clusters'),
  owner: remoteAt('owner'),
  approval: (r, _, ctx) => ctx.loaders.approvalInForce.load(r.id),
};

export const LogicalCluster: LogicalClusterResolvers = {
  __resolveReference: entityOfKind('LogicalCluster'),
  ...resourceFields,
  project: parentOf,
};

export const ClusterProvider: ClusterProviderResolvers = {
  __resolveReference: entityOfKind('ClusterProvider'),
  ...resourceFields,
  clusters: childrenOfKind('Cluster'),
};

export const Cluster: ClusterResolvers = {
  __resolveReference: entityOfKind('Cluster'),
  ...resourceFields,
  provider: parentOf,
  labels: contentList('labels'),
};
