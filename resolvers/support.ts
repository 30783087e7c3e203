import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import { naturalKeyText } from '../src/engine/resources/content.js';
import type { PinRecord } from '../src/engine/approvals/model.js';
import type { ReferenceRecord, ResourceRecord } from '../src/engine/resources/model.js';
import type { RemoteRefRecord } from '../src/remote/remote-ref-store.js';
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
  references: (r: ResourceRecord, args: Page, ctx: GraphQLContext) => referencesOf(r, ctx.engine.nestedPage(args.first), ctx),
  remoteReferences: (r: ResourceRecord, args: Page, ctx: GraphQLContext) => remoteLinksOf(r, ctx.engine.nestedPage(args.first, 10), ctx),
  history: (r: ResourceRecord, args: { first?: number | null }, ctx: GraphQLContext) =>
    ctx.loaders.history.load({ id: r.id, first: ctx.engine.historyPage(args.first), version: r.version }),
  asOf: (r: ResourceRecord, args: { at: string }, ctx: GraphQLContext) =>
    ctx.loaders.asOf.load({ id: r.id, at: args.at, version: r.version }),
  deletion: (r: ResourceRecord, _: unknown, ctx: GraphQLContext) => ctx.loaders.deletion.load(r),
  // `name` has no resolver: the record's `name` (its stored column, the identity's name, which never changes) is the content's name.
  naturalKey: (r: ResourceRecord) => naturalKeyText(r.naturalKey),
};

const isRecord = (r: ResourceRecord | null | Error | undefined): r is ResourceRecord => !!r && !(r instanceof Error);

/**
 * What a resource refers to, by path (`parent` first, then the body's paths in order), its targets
 * the caller may read. A pinned resource answers what its pinned content names, as its fields do.
 */
async function referencesOf(r: ResourceRecord, first: number, ctx: GraphQLContext): Promise<ReferenceRecord[]> {
  const refs = isPinned(r) ? await pinnedReferences(r, ctx) : await ctx.loaders.referencesOut.load(r.id);
  const sorted = [...refs].sort((a, b) => byPath(a.path, b.path));
  const targets = await ctx.loaders.resource.loadMany(sorted.map((x) => x.toId));
  return sorted.filter((_, i) => isRecord(targets[i])).slice(0, first);
}

/** `parent` first, then by field, list items in list order (`clusters[2]` before `clusters[10]`). */
function byPath(a: string, b: string): number {
  if (a === 'parent' || b === 'parent') return a === b ? 0 : a === 'parent' ? -1 : 1;
  const pa = /^(.*)\[(\d+)\]$/.exec(a);
  const pb = /^(.*)\[(\d+)\]$/.exec(b);
  const fa = pa ? pa[1] : a;
  const fb = pb ? pb[1] : b;
  if (fa !== fb) return fa < fb ? -1 : 1;
  return Number(pa?.[2] ?? -1) - Number(pb?.[2] ?? -1);
}

/** The references a pinned version names (the index holds only today's), its parent included. */
async function pinnedReferences(r: PinnedResource, ctx: GraphQLContext): Promise<ReferenceRecord[]> {
  const planned = ctx.engine.rules.bodyReferences(ctx.engine.schema.kind(r.kind), r.content);
  const targets = await Promise.all(planned.map((p) => ctx.loaders.resourceByNaturalKey.load({ kind: p.kind, naturalKey: p.naturalKey })));
  const out: ReferenceRecord[] = r.parentId
    ? [{ fromId: r.id, toId: r.parentId, type: 'CHILD', path: 'parent', createdAt: r.createdAt }]
    : [];
  planned.forEach((p, i) => {
    const t = targets[i];
    if (t) out.push({ fromId: r.id, toId: t.id, type: 'ARBITRARY', path: p.path, createdAt: r.updatedAt });
  });
  return out;
}

/** Its remote references that are set: at most one per remote reference field of its kind. */
async function remoteLinksOf(
  r: ResourceRecord,
  first: number,
  ctx: GraphQLContext,
): Promise<{ path: string; reference: RemoteRefRecord }[]> {
  const fields = ctx.engine.schema
    .kind(r.kind)
    .remoteReferences.slice(0, first)
    .map((rr) => rr.field);
  const refs = await Promise.all(fields.map((path) => remoteAt(path)(r, null, ctx)));
  return fields.flatMap((path, i) => {
    const reference = refs[i];
    return reference ? [{ path, reference }] : [];
  });
}

/**
 * The fields a list's items are asked for (through fragments too): what the page read brings
 * along. `path` descends first (a connection's `edges`, then `node`).
 */
export function selectedFields(info: GraphQLResolveInfo, path: readonly string[] = []): Set<string> {
  const out = new Set<string>();
  const visit = (set: SelectionSetNode | undefined, depth: number) => {
    for (const s of set?.selections ?? []) {
      if (s.kind === Kind.FIELD) {
        if (depth === path.length) out.add(s.name.value);
        else if (s.name.value === path[depth]) visit(s.selectionSet, depth + 1);
      } else if (s.kind === Kind.INLINE_FRAGMENT) visit(s.selectionSet, depth);
      else visit(info.fragments[s.name.value]?.selectionSet, depth);
    }
  };
  for (const node of info.fieldNodes) visit(node.selectionSet, 0);
  return out;
}

/** A resource by natural key as one string (the `kind naturalKey` @key); null for an unknown kind or key. */
function byNaturalKeyText(ctx: GraphQLContext, kind: unknown, text: unknown): Promise<ResourceRecord | null> {
  if (typeof kind !== 'string' || !ctx.engine.schema.kinds.has(kind)) return Promise.resolve(null);
  const naturalKey = ctx.engine.rules.naturalKeyFromText(ctx.engine.schema.kind(kind), text);
  return naturalKey ? ctx.loaders.resourceByNaturalKey.load({ kind, naturalKey }) : Promise.resolve(null);
}

/**
 * Federation entity lookup by any of a kind's @keys, batched through the request's loaders: by id
 * (another kind's id is null), by `kind naturalKey`, or by the natural key nested as in the SDL.
 * Unknown is null, never an error.
 */
export const entityOfKind =
  (kind: string) =>
  (ref: Record<string, unknown>, ctx: GraphQLContext): Promise<ResourceRecord | null> => {
    if (typeof ref.id === 'string') return ctx.loaders.resource.load(ref.id).then((r) => (r && r.kind === kind ? r : null));
    if ('naturalKey' in ref) return ref.kind === kind ? byNaturalKeyText(ctx, kind, ref.naturalKey) : Promise.resolve(null);
    const naturalKey = ctx.engine.rules.naturalKeyFromNested(ctx.engine.schema.kind(kind), ref);
    return naturalKey ? ctx.loaders.resourceByNaturalKey.load({ kind, naturalKey }) : Promise.resolve(null);
  };

/** The entity interface's lookup, by id or by `kind naturalKey`: a resource of any kind, typed by its record. */
export const anyResource = (ref: Record<string, unknown>, ctx: GraphQLContext): Promise<ResourceRecord | null> =>
  typeof ref.id === 'string' ? ctx.loaders.resource.load(ref.id) : byNaturalKeyText(ctx, ref.kind, ref.naturalKey);

/** A content field: a list answers [] when unset (its type is never null), a single value null. */
export const contentValue = (field: string, list: boolean) =>
  list ? (r: ResourceRecord) => (r.content[field] as unknown[] | undefined) ?? [] : (r: ResourceRecord) => r.content[field] ?? null;

export const parentOf = async (r: ResourceRecord, _: unknown, ctx: GraphQLContext) => {
  const parent = r.parentId ? await ctx.loaders.resource.load(r.parentId) : null;
  if (!parent) throw new Error(`${r.kind} ${r.id} has no parent`);
  return parent;
};

export const childrenOfKind = (kind: string) => (r: ResourceRecord, args: Page, ctx: GraphQLContext) =>
  ctx.loaders.children.load({ parentId: r.id, kind, first: ctx.engine.nestedPage(args.first) });

/** A resource as an approval pinned it: its record with the pinned version and content. */
interface PinnedResource extends ResourceRecord {
  pinned: true;
}
const isPinned = (r: ResourceRecord): r is PinnedResource => (r as Partial<PinnedResource>).pinned === true;

/** The pin's resource typed as its kind, its fields as of the pinned version; null once collected. */
export const pinnedResource = async (p: PinRecord, _: unknown, ctx: GraphQLContext): Promise<PinnedResource | null> => {
  const r = await ctx.loaders.resource.load(p.resourceId);
  if (!r) return null;
  const { id, kind, naturalKey, name, parentId, status, createdAt, updatedAt, markedAt, deleteAfter, markId, markedBy } = r;
  return {
    id,
    kind,
    naturalKey,
    name,
    parentId,
    status,
    createdAt,
    updatedAt,
    markedAt,
    deleteAfter,
    markId,
    markedBy,
    content: p.content,
    version: p.version,
    pinned: true,
  };
};

/**
 * The targets a pinned resource's content names in `field`, by natural key (the reference index
 * holds only today's references), in list order; a target since collected is left out.
 */
async function pinnedTargets(r: PinnedResource, field: string, ctx: GraphQLContext): Promise<ResourceRecord[]> {
  const planned = ctx.engine.rules
    .bodyReferences(ctx.engine.schema.kind(r.kind), r.content)
    .filter((p) => p.path === field || p.path.startsWith(`${field}[`));
  const targets = await Promise.all(planned.map((p) => ctx.loaders.resourceByNaturalKey.load({ kind: p.kind, naturalKey: p.naturalKey })));
  return targets.filter((t): t is ResourceRecord => t !== null);
}

/** A single reference of the body, through the reference index (or as the page read brought it). */
export const referenceAt = (path: string) => (r: ResourceRecord, _: unknown, ctx: GraphQLContext) => {
  if (isPinned(r)) return pinnedTargets(r, path, ctx).then((t) => t[0] ?? null);
  const preloaded = ctx.loaders.preloaded.get(path)?.get(r.id);
  if (preloaded !== undefined) return preloaded as ResourceRecord | null;
  return ctx.loaders.referencesOut.load(r.id).then((refs) => {
    const ref = refs.find((x) => x.path === path);
    return ref ? ctx.loaders.resource.load(ref.toId) : null;
  });
};

/** A list reference of the body (`clusters[0]`, `clusters[1]`, ...) in list order, its first `first`. */
export const referencesAt = (field: string) => {
  const at = new RegExp(`^${field}\\[(\\d+)\\]$`);
  const load = async (r: ResourceRecord, first: number, ctx: GraphQLContext) => {
    const refs = (await ctx.loaders.referencesOut.load(r.id))
      .map((x) => ({ x, i: at.exec(x.path) }))
      .filter((e) => e.i)
      .sort((a, b) => Number(a.i![1]) - Number(b.i![1]))
      .slice(0, first);
    const targets = await ctx.loaders.resource.loadMany(refs.map((e) => e.x.toId));
    return targets.filter((t): t is ResourceRecord => !!t && !(t instanceof Error));
  };
  return (r: ResourceRecord, args: Page, ctx: GraphQLContext) => {
    const first = ctx.engine.nestedPage(args.first);
    if (isPinned(r)) return pinnedTargets(r, field, ctx).then((t) => t.slice(0, first));
    const preloaded = ctx.loaders.preloaded.get(field)?.get(r.id) as (ResourceRecord | null)[] | undefined;
    if (preloaded === undefined) return load(r, first, ctx);
    // Most lists are short and wholly readable: returned as they are, without two copies per row.
    if (preloaded.length <= first && !preloaded.includes(null)) return preloaded as ResourceRecord[];
    return preloaded.slice(0, first).filter((t): t is ResourceRecord => t !== null);
  };
};

export const remoteAt = (path: string) => (r: ResourceRecord, _: unknown, ctx: GraphQLContext) => {
  const preloaded = ctx.loaders.preloaded.get(path)?.get(r.id);
  return preloaded !== undefined ? (preloaded as RemoteRefRecord | null) : ctx.loaders.remoteLink.load({ resourceId: r.id, path });
};
