import type { IntegrityOverviewResolvers, QueryResolvers } from './__generated__/resolvers-types.js';
import { browse, overview } from '../src/engine/overview/index.js';
import { firstOf } from './support.js';

/** The console's read-only queries (schema/console.graphql): thin over src/engine/overview. */
export const ConsoleQuery: Pick<QueryResolvers, 'integrityOverview' | 'resources'> = {
  integrityOverview: (_, __, ctx) => overview(ctx.engine, ctx.actor),
  resources: (_, { kind, status, search, first, after }, ctx) => browse(ctx.engine, kind, { status, search, first, after }, ctx.loaders),
};

/** The overview's lists are short by construction (per kind, per remote type, ...); `first` keeps them bounded all the same. */
export const IntegrityOverview: IntegrityOverviewResolvers = {
  resourceCounts: (o, args, ctx) => firstOf(o.resourceCounts, args, ctx),
  kindApis: (o, args, ctx) => firstOf(o.kindApis, args, ctx),
  remoteCache: (o, args, ctx) => firstOf(o.remoteCache, args, ctx),
  sources: (o, args, ctx) => firstOf(o.sources, args, ctx),
  changeFeed: (o, args, ctx) => firstOf(o.changeFeed, args, ctx),
  leases: (o, args, ctx) => firstOf(o.leases, args, ctx),
  maintenanceRuns: (o, args, ctx) => firstOf(o.maintenanceRuns, args, ctx),
};
