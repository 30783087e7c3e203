import { hasUpdate, kindNames, updateInputFieldNames } from '../../model/api-names.js';
import type { RelationshipSchema } from '../../model/model.js';
import { UNRESTRICTED, type Actor } from '../actor.js';
import type { Engine } from '../engine.js';
import { badInput } from '../errors.js';
import type { Loaders } from '../loaders.js';
import { pageSize } from '../paging.js';
import type { ResourceRecord } from '../resources/model.js';
import { browseResources } from './browse.js';
import {
  countByKindAndStatus,
  feedHealth,
  leases,
  maintenanceRunCounts,
  remoteCacheHealth,
  sourceHealth,
  type FeedHealth,
  type KindStatusCount,
  type LeaseState,
  type RemoteCacheHealth,
  type RunCount,
  type SourceHealth,
} from './overview.js';

/** What the API offers for one kind: the console reads it instead of introspecting, which production turns off. */
export interface KindApi {
  kind: string;
  update: string | null;
  approve: string | null;
  updateInputFields: string[];
}

export function kindApis(schema: RelationshipSchema): KindApi[] {
  return [...schema.kinds.values()].map((kind) => {
    const n = kindNames(kind);
    const update = hasUpdate(kind);
    return {
      kind: kind.name,
      update: update ? n.update : null,
      approve: n.approve,
      updateInputFields: update ? updateInputFieldNames(kind) : [],
    };
  });
}

export interface OverviewRecord {
  resourceCounts: KindStatusCount[];
  kinds: string[];
  kindApis: KindApi[];
  remoteCache: RemoteCacheHealth[];
  sources: SourceHealth[];
  changeFeed: FeedHealth[];
  leases: LeaseState[];
  maintenanceRuns: RunCount[];
}

/** The console's overview for one caller: counts under its tenancy; infrastructure only for unconfined callers. */
export async function overview(engine: Engine, actor: Actor = UNRESTRICTED): Promise<OverviewRecord> {
  const only = engine.tenancy.andReadable(actor);
  const unconfined = actor.projects === null;
  const [resourceCounts, remoteCache, now, changeFeed, maintenanceRuns] = await Promise.all([
    countByKindAndStatus(engine.db, only),
    unconfined ? remoteCacheHealth(engine.db) : Promise.resolve([]),
    engine.db.now(),
    unconfined ? feedHealth() : Promise.resolve([]),
    maintenanceRunCounts(),
  ]);
  return {
    resourceCounts,
    kinds: [...engine.schema.kinds.keys()],
    kindApis: kindApis(engine.schema),
    remoteCache,
    sources: unconfined ? sourceHealth(engine.remote.sources) : [],
    changeFeed,
    leases: await leases(engine.db, now),
    maintenanceRuns,
  };
}

export interface BrowseArgs {
  status?: string | null;
  search?: string | null;
  first?: number | null;
  after?: string | null;
}

/** A kind's page for the console's table, read under the loaders' tenancy and primed into them. */
export async function browse(engine: Engine, kind: string, args: BrowseArgs, loaders: Loaders): Promise<ResourceRecord[]> {
  if (!engine.schema.kinds.has(kind))
    throw badInput(`There is no kind ${JSON.stringify(kind)}; kinds: ${[...engine.schema.kinds.keys()].join(', ')}`);
  const first = pageSize(args.first, 50);
  const page = await browseResources(engine.db, kind, { first, after: args.after, status: args.status, search: args.search }, loaders.only);
  return loaders.prime(page);
}
