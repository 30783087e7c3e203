import type { GraphQLResolveInfo } from 'graphql';
import { hasUpdate, kindNames, remoteTypeNames } from '../src/model/api-names.js';
import type { KindDef, RelationshipSchema } from '../src/model/model.js';
import type { Content, ResourceRecord } from '../src/engine/resources/model.js';
import type { GraphQLContext } from './context.js';
import { referencedByRemote, remoteEntityOf } from './remote-entities.js';
import {
  childrenOfKind,
  contentValue,
  entityOfKind,
  parentOf,
  referenceAt,
  referencesAt,
  remoteAt,
  resourceFields,
  selectedFields,
} from './support.js';

/**
 * The resolvers of every kind and remote type, built from the relationship schema alone: the
 * same names the SDL derivation gives (src/model/api-names.ts), so the two cannot disagree.
 * No kind is named here; a kind added to the relationship schema is served after a restart.
 */

type Args = Record<string, unknown>;
export type FieldResolver = (parent: never, args: never, ctx: GraphQLContext, info: GraphQLResolveInfo) => unknown;
export type TypeResolvers = Record<string, FieldResolver | ((ref: never, ctx: GraphQLContext) => unknown)>;

interface Page {
  first?: number | null;
  after?: string | null;
}

/** The ancestor identity values a list was given (omitted and null ones left out). */
function ancestorsOf(kind: KindDef, args: Args): Record<string, unknown> | undefined {
  const given = kind.identity.slice(0, -1).filter((f) => args[f] !== undefined && args[f] !== null);
  return given.length ? Object.fromEntries(given.map((f) => [f, args[f]])) : undefined;
}

/** GraphQL input objects are plain data; the engine validates them against the relationship schema. */
const content = (input: unknown) => input as Content;

function objectResolvers(schema: RelationshipSchema, kind: KindDef): TypeResolvers {
  const out: TypeResolvers = { __resolveReference: entityOfKind(kind.name), ...resourceFields };
  for (const [field, fragment] of Object.entries(kind.fields)) out[field] = contentValue(field, fragment.type === 'array');
  if (kind.parent) out[schema.kind(kind.parent).key] = parentOf;
  for (const ref of kind.references) out[ref.field] = ref.list ? referencesAt(ref.field) : referenceAt(ref.field);
  for (const rr of kind.remoteReferences) out[rr.field] = remoteAt(rr.field);
  for (const child of schema.childKinds(kind.name)) out[kindNames(child).childrenField!] = childrenOfKind(child.name);
  if (kind.api.approvable) out.approval = (r: ResourceRecord, _: unknown, ctx: GraphQLContext) => ctx.loaders.approvalInForce.load(r.id);
  return out as TypeResolvers;
}

export interface DerivedResolvers {
  types: Record<string, TypeResolvers>;
  query: Record<string, FieldResolver>;
  mutation: Record<string, FieldResolver>;
}

export function derivedResolvers(schema: RelationshipSchema): DerivedResolvers {
  const out: DerivedResolvers = { types: {}, query: {}, mutation: {} };
  const field = <A>(f: (args: A, ctx: GraphQLContext, info: GraphQLResolveInfo) => unknown): FieldResolver =>
    ((_: unknown, args: A, ctx: GraphQLContext, info: GraphQLResolveInfo) => f(args, ctx, info)) as FieldResolver;

  for (const kind of schema.kinds.values()) {
    const K = kind.name;
    const n = kindNames(kind);
    out.types[K] = objectResolvers(schema, kind);
    out.query[n.field] = field<Args>((args, ctx) => ctx.engine.findByIdentity(K, args, ctx.loaders, ctx.actor));
    out.query[n.plural] = field<Args & Page>((args, ctx, info) =>
      ctx.engine.list(K, { first: args.first, after: args.after }, ancestorsOf(kind, args), ctx.loaders, ctx.actor, selectedFields(info)),
    );
    out.query[n.connectionField] = field<Args & Page>((args, ctx, info) => {
      const selected = selectedFields(info);
      const nodes = selectedFields(info, ['edges', 'node']);
      return ctx.engine.connection(K, { first: args.first, after: args.after }, ancestorsOf(kind, args), ctx.loaders, {
        include: nodes,
        totalCount: selected.has('totalCount'),
        page: selected.has('edges') || selected.has('pageInfo'),
      });
    });
    out.mutation[n.create] = field<{ input: unknown }>(({ input }, ctx) => ctx.engine.create(K, content(input), ctx.actor));
    if (hasUpdate(kind))
      out.mutation[n.update] = field<{ id: string; input: unknown; expectedVersion?: number | null }>(
        ({ id, input, expectedVersion }, ctx) => ctx.engine.update(K, id, content(input), expectedVersion, ctx.actor),
      );
    if (n.approve) out.mutation[n.approve] = field<{ id: string }>(({ id }, ctx) => ctx.engine.approve(K, id, ctx.actor));
  }

  for (const t of schema.remoteTypes.values()) {
    const n = remoteTypeNames(t);
    out.types[n.type] = { __resolveReference: remoteEntityOf(t.name), referencedBy: referencedByRemote(t.name) } as TypeResolvers;
    // Every field of a reference is a property of the record: graphql-js's default resolver reads it.
    out.types[n.refType] = {};
    out.query[n.browseField] = field<Page>((page, ctx) => ctx.engine.browseRemote(t.name, page));
  }
  return out;
}
