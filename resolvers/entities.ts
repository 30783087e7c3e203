import { entitiesResolver } from '@apollo/subgraph/dist/types.js';
import type { GraphQLResolveInfo } from 'graphql';
import { checkRepresentation } from '../src/server/representations.js';
import type { GraphQLContext } from './context.js';

/**
 * `_entities`, in place of Apollo's: every representation is checked before any is looked up (a
 * malformed one refuses the call with BAD_USER_INPUT, and no lookup was started that nobody would
 * await), then each is resolved on its own, so one that throws fails its item, not its siblings'
 * promises. Resolution itself is Apollo's (the types' __resolveReference, entity interfaces).
 */
export function resolveEntities(
  _: unknown,
  args: { representations: readonly unknown[] },
  ctx: GraphQLContext,
  info: GraphQLResolveInfo,
): Promise<unknown>[] {
  const representations = args.representations.map((r, i) => checkRepresentation(info.schema, r, i));
  return representations.map((reference) => {
    try {
      return Promise.resolve(entitiesResolver({ representations: [reference], context: ctx, info })[0]);
    } catch (e) {
      return Promise.reject(e as Error);
    }
  });
}
