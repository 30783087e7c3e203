import type { Resolvers } from './__generated__/resolvers-types.js';
import { anyResource } from './support.js';
import { Cluster, ClusterProvider, CompositeApp, CompositeProfile, DeploymentIntentGroup, LogicalCluster, Project } from './kinds.js';
import { Approval, ApprovalPin } from './approvals.js';
import { DeletionBlocker, DeletionCandidate, DeletionExplanation, GarbageCollectionReport, MarkForDeletionResult } from './lifecycle.js';
import { IntegrityOverview } from './console.js';
import { Mutation } from './mutation.js';
import { Query } from './query.js';
import { BankAccountRef, EmployeeRef, RemoteReference } from './remote.js';
import { BankAccount, Employee } from './remote-entities.js';
import { DateTime, JSONScalar } from './scalars.js';
import type { ResourceRecord } from '../src/engine/resources/model.js';
import type { GraphQLContext } from './context.js';

export const resolvers: Resolvers = {
  DateTime,
  JSON: JSONScalar,
  Query,
  Mutation,
  Resource: { __resolveReference: anyResource, __resolveType: (r) => r.kind as ResourceRecord['kind'] as never },
  ResourceReference: {
    from: (ref, _, ctx: GraphQLContext) => ctx.loaders.resource.load(ref.fromId).then(must(ref.fromId)),
    to: (ref, _, ctx: GraphQLContext) => ctx.loaders.resource.load(ref.toId).then(must(ref.toId)),
  },
  Project,
  CompositeApp,
  CompositeProfile,
  DeploymentIntentGroup,
  LogicalCluster,
  ClusterProvider,
  Cluster,
  RemoteReference,
  EmployeeRef,
  BankAccountRef,
  Employee,
  BankAccount,
  Approval,
  ApprovalPin,
  MarkForDeletionResult,
  DeletionCandidate,
  DeletionExplanation,
  DeletionBlocker,
  GarbageCollectionReport,
  IntegrityOverview,
};

const must = (id: string) => (r: ResourceRecord | null) => {
  if (!r) throw new Error(`resource ${id} vanished while the request ran`);
  return r;
};
