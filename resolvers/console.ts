import type { QueryResolvers } from './__generated__/resolvers-types.js';
import type { Engine } from '../src/engine/engine.js';
import { browse, overview } from '../src/engine/overview/index.js';

/** The console's read-only queries (schema/console.graphql): thin over src/engine/overview. */
export const ConsoleQuery: Pick<QueryResolvers, 'integrityOverview' | 'resources'> = {
  integrityOverview: (_, __, ctx) => overview(ctx.engine, ctx.actor),
  resources: (_, { kind, status, search, first, after }, ctx) => browse(ctx.engine, kind, { status, search, first, after }, ctx.loaders),
};

/**
 * What the overview's lists (no `first`: they are short by construction) hold at most, for the
 * cost estimate: per kind and status, per remote type, per source, per lease, per job and outcome.
 */
export function overviewListBounds(engine: Engine): Map<string, number> {
  const kinds = engine.schema.kinds.size;
  const remoteTypes = engine.schema.remoteTypes.size;
  return new Map([
    ['IntegrityOverview.kinds', kinds],
    ['IntegrityOverview.resourceCounts', kinds * 2],
    ['IntegrityOverview.remoteCache', remoteTypes],
    ['IntegrityOverview.sources', Math.max(engine.remote.sources.size, 1)],
    ['IntegrityOverview.changeFeed', 2],
    ['IntegrityOverview.leases', 10],
    ['IntegrityOverview.maintenanceRuns', 12],
  ]);
}
