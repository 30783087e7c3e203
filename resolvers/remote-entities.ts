import { hashKey, type RemoteKey } from '../src/remote/hash.js';
import type { RemoteEntity } from '../src/remote/sources/source.js';
import type { GraphQLContext } from './context.js';

/** The remote key of a representation or entity: its key fields as strings; null when one is missing or empty. */
function keyOf(ctx: GraphQLContext, typeName: string, value: Record<string, unknown>): RemoteKey | null {
  const key: RemoteKey = {};
  for (const field of ctx.engine.schema.remoteType(typeName).key) {
    const v = value[field];
    if ((typeof v !== 'string' && typeof v !== 'number') || String(v) === '') return null;
    key[field] = String(v);
  }
  return key;
}

/** Federation lookup of a remote entity by its remote key, through the remote_ref cache (reader.ts). */
export const remoteEntityOf = (typeName: string) => (ref: Record<string, unknown>, ctx: GraphQLContext) => {
  const key = keyOf(ctx, typeName, ref);
  return key ? ctx.loaders.remoteEntity.load({ entityType: typeName, hashKey: hashKey(key), key }) : Promise.resolve(null);
};

/** The documents whose remote references point at this entity, their first `first`. */
export const referencedByRemote =
  (typeName: string) => async (entity: RemoteEntity, args: { first?: number | null }, ctx: GraphQLContext) => {
    const key = keyOf(ctx, typeName, entity);
    if (!key) return [];
    const all = await ctx.loaders.referrersOfRemote.load({ entityType: typeName, hashKey: hashKey(key) });
    const links = all.slice(0, ctx.engine.nestedPage(args.first));
    const from = await ctx.loaders.resource.loadMany(links.map((l) => l.resourceId));
    return links.flatMap((l, i) => {
      const r = from[i];
      return r && !(r instanceof Error) ? [{ from: r, path: l.path }] : [];
    });
  };
