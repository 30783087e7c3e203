import type { QueryResolvers } from './__generated__/resolvers-types.js';
import { browse, overview } from '../src/engine/overview/index.js';

/** The console's read-only queries (schema/console.graphql): thin over src/engine/overview. */
export const ConsoleQuery: Pick<QueryResolvers, 'integrityOverview' | 'resources'> = {
  integrityOverview: (_, __, ctx) => overview(ctx.engine, ctx.actor),
  resources: (_, { kind, status, search, first, after }, ctx) => browse(ctx.engine, kind, { status, search, first, after }, ctx.loaders),
};
