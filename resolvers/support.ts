import type { ResourceRecord } from '../src/engine/resources/model.js';
import type { GraphQLContext } from './context.js';

/** Field resolvers every Resource type shares. */
export const resourceFields = {
  markedForDeletionAt: (r: ResourceRecord) => r.markedAt,
  referencedBy: (r: ResourceRecord, _: unknown, ctx: GraphQLContext) => ctx.loaders.referencesIn.load(r.id),
  history: (r: ResourceRecord, args: { first?: number | null }, ctx: GraphQLContext) =>
    ctx.loaders.history.load({ id: r.id, first: ctx.engine.historyPage(args.first) }),
  asOf: (r: ResourceRecord, args: { at: string }, ctx: GraphQLContext) => ctx.loaders.asOf.load({ id: r.id, at: args.at }),
  name: (r: ResourceRecord) => String(r.content.name),
};

/**
 * Federation entity lookup by either @key, batched through the request's loaders: by id (another
 * kind's id is null) or by natural key, nested as in the SDL's second @key. Unknown is null.
 */
export const entityOfKind =
  (kind: string) =>
  (ref: { id?: string | null } | Record<string, unknown>, ctx: GraphQLContext): Promise<ResourceRecord | null> => {
    if (typeof ref.id === 'string') return ctx.loaders.resource.load(ref.id).then((r) => (r && r.kind === kind ? r : null));
    const naturalKey = ctx.engine.rules.naturalKeyFromNested(ctx.engine.schema.kind(kind), ref);
    return naturalKey ? ctx.loaders.resourceByNaturalKey.load({ kind, naturalKey }) : Promise.resolve(null);
  };

/** The entity interface's lookup: a resource of any kind by id; the kind comes from the record. */
export const anyResource = (ref: { id: string }, ctx: GraphQLContext) => ctx.loaders.resource.load(ref.id);

export const contentString = (field: string) => (r: ResourceRecord) => (r.content[field] as string | undefined) ?? null;

export const contentList = (field: string) => (r: ResourceRecord) => (r.content[field] as string[] | undefined) ?? [];

export const parentOf = async (r: ResourceRecord, _: unknown, ctx: GraphQLContext) => {
  const parent = r.parentId ? await ctx.loaders.resource.load(r.parentId) : null;
  if (!parent) throw new Error(`${r.kind} ${r.id} has no parent`);
  return parent;
};

export const childrenOfKind = (kind: string) => (r: ResourceRecord, _: unknown, ctx: GraphQLContext) =>
  ctx.loaders.children.load({ parentId: r.id, kind });

/** A single reference of the body, through the reference index. */
export const referenceAt = (path: string) => async (r: ResourceRecord, _: unknown, ctx: GraphQLContext) => {
  const ref = (await ctx.loaders.referencesOut.load(r.id)).find((x) => x.path === path);
  return ref ? ctx.loaders.resource.load(ref.toId) : null;
};

/** A list reference of the body (`clusters[0]`, `clusters[1]`, ...) in list order. */
export const referencesAt = (field: string) => {
  const at = new RegExp(`^${field}\\[(\\d+)\\]$`);
  return async (r: ResourceRecord, _: unknown, ctx: GraphQLContext) => {
    const refs = (await ctx.loaders.referencesOut.load(r.id))
      .map((x) => ({ x, i: at.exec(x.path) }))
      .filter((e) => e.i)
      .sort((a, b) => Number(a.i![1]) - Number(b.i![1]));
    const targets = await ctx.loaders.resource.loadMany(refs.map((e) => e.x.toId));
    return targets.filter((t): t is ResourceRecord => !!t && !(t instanceof Error));
  };
};

export const remoteAt = (path: string) => (r: ResourceRecord, _: unknown, ctx: GraphQLContext) =>
  ctx.loaders.remoteLink.load({ resourceId: r.id, path });
