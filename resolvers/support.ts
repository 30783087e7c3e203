import type { ResourceRecord } from '../src/engine/resources/model.js';
import type { GraphQLContext } from './context.js';

type Page = { first?: number | null };

/** The first `first` items of a list the engine already holds (reports, pins); `fallback` as in the SDL. */
export const firstOf = <T>(list: readonly T[], args: Page, ctx: GraphQLContext, fallback = 100): T[] =>
  list.slice(0, ctx.engine.nestedPage(args.first, fallback));

/** Field resolvers every Resource type shares. */
export const resourceFields = {
  markedForDeletionAt: (r: ResourceRecord) => r.markedAt,
  markedForDeletionBy: (r: ResourceRecord) => r.markedBy,
  referencedBy: (r: ResourceRecord, args: Page, ctx: GraphQLContext) =>
    ctx.loaders.referencesIn.load({ id: r.id, first: ctx.engine.nestedPage(args.first) }),
  history: (r: ResourceRecord, args: { first?: number | null }, ctx: GraphQLContext) =>
    ctx.loaders.history.load({ id: r.id, first: ctx.engine.historyPage(args.first) }),
  asOf: (r: ResourceRecord, args: { at: string }, ctx: GraphQLContext) => ctx.loaders.asOf.load({ id: r.id, at: args.at }),
  name: (r: ResourceRecord) => String(r.content.name),
};

/** Federation entity lookup, batched through the request's loader; another kind's id is null. */
export const entityOfKind = (kind: string) => (ref: { id: string }, ctx: GraphQLContext) =>
  ctx.loaders.resource.load(ref.id).then((r) => (r && r.kind === kind ? r : null));

export const contentString = (field: string) => (r: ResourceRecord) => (r.content[field] as string | undefined) ?? null;

export const contentList = (field: string) => (r: ResourceRecord) => (r.content[field] as string[] | undefined) ?? [];

export const parentOf = async (r: ResourceRecord, _: unknown, ctx: GraphQLContext) => {
  const parent = r.parentId ? await ctx.loaders.resource.load(r.parentId) : null;
  if (!parent) throw new Error(`${r.kind} ${r.id} has no parent`);
  return parent;
};

export const childrenOfKind = (kind: string) => (r: ResourceRecord, args: Page, ctx: GraphQLContext) =>
  ctx.loaders.children.load({ parentId: r.id, kind, first: ctx.engine.nestedPage(args.first) });

/** A single reference of the body, through the reference index. */
export const referenceAt = (path: string) => async (r: ResourceRecord, _: unknown, ctx: GraphQLContext) => {
  const ref = (await ctx.loaders.referencesOut.load(r.id)).find((x) => x.path === path);
  return ref ? ctx.loaders.resource.load(ref.toId) : null;
};

/** A list reference of the body (`clusters[0]`, `clusters[1]`, ...) in list order. */
export const referencesAt = (field: string) => {
  const at = new RegExp(`^${field}\\[(\\d+)\\]$`);
  return async (r: ResourceRecord, args: Page, ctx: GraphQLContext) => {
    const refs = (await ctx.loaders.referencesOut.load(r.id))
      .map((x) => ({ x, i: at.exec(x.path) }))
      .filter((e) => e.i)
      .sort((a, b) => Number(a.i![1]) - Number(b.i![1]))
      .slice(0, ctx.engine.nestedPage(args.first));
    const targets = await ctx.loaders.resource.loadMany(refs.map((e) => e.x.toId));
    return targets.filter((t): t is ResourceRecord => !!t && !(t instanceof Error));
  };
};

export const remoteAt = (path: string) => (r: ResourceRecord, _: unknown, ctx: GraphQLContext) =>
  ctx.loaders.remoteLink.load({ resourceId: r.id, path });
