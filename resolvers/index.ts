import type { Resolvers } from './__generated__/resolvers-types.js';
import { anyResource } from './support.js';
import { derivedResolvers } from './kinds.js';
import { Approval, ApprovalPin } from './approvals.js';
import { DeletionBlocker, DeletionCandidate, DeletionExplanation, GarbageCollectionReport, MarkForDeletionResult } from './lifecycle.js';
import { IntegrityOverview } from './console.js';
import { mutationResolvers } from './mutation.js';
import { Query } from './query.js';
import { RemoteReference } from './remote.js';
import { DateTime, JSONScalar } from './scalars.js';
import type { RelationshipSchema } from '../src/model/model.js';
import type { ResourceRecord } from '../src/engine/resources/model.js';
import type { GraphQLContext } from './context.js';

/** Resolvers of the shared types; the kinds' and remote types' are added from the relationship schema. */
const shared: Resolvers = {
  DateTime,
  JSON: JSONScalar,
  Resource: { __resolveReference: anyResource, __resolveType: (r) => r.kind as never },
  ResourceReference: {
    from: (ref, _, ctx: GraphQLContext) => ctx.loaders.resource.load(ref.fromId).then(must(ref.fromId)),
    to: (ref, _, ctx: GraphQLContext) => ctx.loaders.resource.load(ref.toId).then(must(ref.toId)),
  },
  RemoteReference,
  Approval,
  ApprovalPin,
  MarkForDeletionResult,
  DeletionCandidate,
  DeletionExplanation,
  DeletionBlocker,
  GarbageCollectionReport,
  IntegrityOverview,
};

/** Every resolver of the subgraph for this relationship schema. */
export function resolversFor(schema: RelationshipSchema): Resolvers {
  const derived = derivedResolvers(schema);
  return {
    ...(derived.types as Resolvers),
    ...shared,
    Query: { ...Query, ...derived.query },
    Mutation: mutationResolvers(derived.mutation),
  };
}

const must = (id: string) => (r: ResourceRecord | null) => {
  if (!r) throw new Error(`resource ${id} vanished while the request ran`);
  return r;
};
