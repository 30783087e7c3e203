import type { Db } from '../data/db.js';
import { applyRemoteChanges, type RemoteChange } from '../remote/changes.js';
import { browseEntities, type RemoteContext } from '../remote/context.js';
import { RemoteLinks } from '../remote/linker.js';
import { DEFAULT_DELETED_RECHECK_MS } from '../remote/reader.js';
import type { RemoteEntity, RemoteSource } from '../remote/sources/source.js';
import { requireUnconfined, UNRESTRICTED, type Actor } from './actor.js';
import { badInput } from './errors.js';
import { createLoaders, type Loaders } from './loaders.js';
import { pageSize } from './paging.js';
import { ContentRules } from './resources/content.js';
import type { Content, ResourceRecord } from './resources/model.js';
import { connectionOf, decodeCursor, type ConnectionPage } from './resources/connection.js';
import { countResources, listResources } from './resources/page.js';
import { resourcesByNaturalKeys } from './resources/store.js';
import { Tenancy } from './resources/tenancy.js';
import { ResourceWriter } from './resources/writer.js';
import type { KindDef, RelationshipSchema } from '../model/model.js';
import type { Logger } from '../logger.js';
import { Maintenance, type MaintenanceSettings } from '../maintenance/maintenance.js';
import { GarbageCollector } from './lifecycle/collector.js';
import { candidatesOf, explainDeletion } from './lifecycle/explain.js';
import { cancelDeletion, markForDeletion } from './lifecycle/marking.js';
import type { DeletionCandidateRecord, DeletionExplanationRecord, GcReport, MarkResult, PruneReport } from './lifecycle/model.js';
import { HistoryPruner, type PruneRule } from './lifecycle/pruner.js';
import { Approvals } from './approvals/approvals.js';
import type { ApprovalRecord } from './approvals/model.js';

export interface EngineSettings {
  /** Overrides every kind's retention (RETENTION_SECONDS). */
  retentionSeconds?: number;
  /** DataLoader batching; off only to measure the N+1 baseline. */
  batching: boolean;
  maintenance: MaintenanceSettings;
  /** How far ahead of now a change event may be dated (CHANGE_FEED_MAX_CLOCK_SKEW_SECONDS, default 300). */
  maxClockSkewSeconds?: number;
}

export const DEFAULT_MAINTENANCE: MaintenanceSettings = {
  leaseTtlSeconds: 60,
  gcIntervalSeconds: 0,
  revalidateAfterSeconds: 300,
  revalidateIntervalSeconds: 0,
  appliedEventRetentionSeconds: 7 * 86400,
};

/** The integrity engine: what resolvers call. It knows kinds only through the relationship schema. */
export class Engine {
  readonly rules: ContentRules;
  readonly writer: ResourceWriter;
  readonly remote: RemoteContext;
  readonly maintenance: Maintenance;
  readonly tenancy: Tenancy;
  private readonly collector: GarbageCollector;
  private readonly approvals: Approvals;

  constructor(
    readonly db: Db,
    readonly schema: RelationshipSchema,
    sources: Map<string, RemoteSource>,
    readonly settings: EngineSettings,
    log?: Logger,
  ) {
    this.rules = new ContentRules(schema);
    // A read looks at a deleted row again after this back-off: at most the sweep's age, at most 10 s.
    this.remote = {
      db,
      schema,
      sources,
      deletedRecheckMs: Math.min(DEFAULT_DELETED_RECHECK_MS, settings.maintenance.revalidateAfterSeconds * 1000),
      maxClockSkewSeconds: settings.maxClockSkewSeconds,
    };
    this.tenancy = new Tenancy(schema);
    this.writer = new ResourceWriter(db, schema, this.rules, new RemoteLinks(this.remote), this.tenancy);
    this.collector = new GarbageCollector(db, schema, settings.maintenance.gcBatchSize, (records) => this.explainDeletion(records));
    this.approvals = new Approvals(db, this.remote, this.tenancy);
    this.maintenance = new Maintenance(db, this.collector, new HistoryPruner(db), this.remote, settings.maintenance, log);
  }

  /** Pins the closure of a resource of this kind; replaces the approval in force, if any. */
  approve(kind: string, id: string, actor: Actor = UNRESTRICTED): Promise<ApprovalRecord> {
    return this.approvals.approve(kind, id, actor);
  }

  revokeApproval(id: string, actor: Actor = UNRESTRICTED): Promise<ApprovalRecord> {
    return this.approvals.revoke(id, actor);
  }

  async markForDeletion(id: string, actor: Actor = UNRESTRICTED): Promise<MarkResult> {
    const marked = await markForDeletion(this.db, this.schema, id, { actor, tenancy: this.tenancy }, this.settings.retentionSeconds);
    const [explanation] = await this.explainDeletion([marked.resource]);
    return { ...marked, explanation };
  }

  /**
   * Why each resource is not collected yet, or (unmarked) what would stop its deletion, with
   * the maintenance lease's holder: the one explanation every deletion answer gives.
   */
  explainDeletion(records: readonly ResourceRecord[]): Promise<DeletionExplanationRecord[]> {
    return explainDeletion(this.db, this.schema, records, { lease: () => this.maintenance.gcLeaseHolder() });
  }

  cancelDeletion(id: string, actor: Actor = UNRESTRICTED): Promise<ResourceRecord> {
    return cancelDeletion(this.db, id, { actor, tenancy: this.tenancy });
  }

  /** Marked resources the actor may read, oldest mark first, with what keeps each from being collected. */
  async deletionQueue(
    first: number | null | undefined,
    actor: Actor = UNRESTRICTED,
    loaders?: Loaders,
  ): Promise<DeletionCandidateRecord[]> {
    const only = loaders ? loaders.only : this.tenancy.andReadable(actor);
    const read = await this.collector.markedResources(undefined, pageSize(first, 100), only);
    // The records this request answers for those resources, if another path read them first.
    const records = loaders ? await loaders.prime(read) : read;
    return candidatesOf(records, await this.explainDeletion(records));
  }

  collectGarbage(dryRun: boolean, actor: Actor = UNRESTRICTED): Promise<GcReport> {
    requireUnconfined(actor, 'Garbage collection');
    return this.maintenance.collectGarbage(dryRun, { subject: actor.subject });
  }

  pruneHistory(rule: PruneRule, actor: Actor = UNRESTRICTED): Promise<PruneReport> {
    requireUnconfined(actor, 'History pruning');
    HistoryPruner.check(rule);
    return this.maintenance.pruneHistory(rule, { subject: actor.subject });
  }

  /** Fresh loaders for one request and one caller: their caches must never outlive it. */
  loaders(actor: Actor = UNRESTRICTED): Loaders {
    return createLoaders(this.remote, {
      batching: this.settings.batching,
      only: this.tenancy.andReadable(actor),
      explainDeletion: (records) => this.explainDeletion(records),
    });
  }

  create(kind: string, input: Content, actor: Actor = UNRESTRICTED): Promise<ResourceRecord> {
    return this.writer.create(kind, input, actor);
  }

  update(kind: string, id: string, patch: Content, expectedVersion?: number | null, actor: Actor = UNRESTRICTED): Promise<ResourceRecord> {
    return this.writer.update(kind, id, patch, expectedVersion, actor);
  }

  async findByIdentity(
    kind: string,
    identity: Record<string, unknown>,
    loaders?: Loaders,
    actor: Actor = UNRESTRICTED,
  ): Promise<ResourceRecord | null> {
    const def = this.schema.kind(kind);
    const key = this.rules.naturalKeyFromArgs(def, identity);
    // The request's loaders carry its caller: a resolver that passes them cannot forget the tenancy.
    const only = loaders ? loaders.only : this.tenancy.andReadable(actor);
    const [found] = await resourcesByNaturalKeys(this.db, def.name, [key], '', only);
    if (!found) return null;
    // The record this request answers for that resource, if another path read it first.
    return loaders ? (await loaders.prime([found]))[0] : found;
  }

  /**
   * A page of a kind in id order; `within` narrows to the descendants of an ancestor named by
   * identity values. `include` names the fields the caller will read of each resource: references
   * and remote references among them come with the page (see Loaders.page).
   */
  async list(
    kind: string,
    page: { first?: number | null; after?: string | null },
    within?: Record<string, unknown>,
    loaders?: Loaders,
    actor: Actor = UNRESTRICTED,
    include: ReadonlySet<string> = new Set(),
  ) {
    const def = this.schema.kind(kind);
    const first = pageSize(page.first, 100);
    const keyPrefix = this.keyPrefix(def, within);
    // With loaders the page is read with the references it will be asked for, under the loaders' tenancy condition.
    const at = { first, after: page.after, keyPrefix, afterInList: true };
    const records = loaders
      ? await loaders.page(def, at, include)
      : await listResources(this.db, def.name, at, this.tenancy.andReadable(actor));
    // An `after` that is no id of this list is a mistake, not the end of the list. The page read
    // is empty for one (afterInList); only then is it looked at, so a page that answered costs no
    // statement more.
    if (page.after && records.length === 0 && first > 0) await this.requireListed(def, page.after, keyPrefix);
    return records;
  }

  /**
   * A page of a kind as a connection: opaque cursors bound to this list (a foreign `after` is
   * BAD_USER_INPUT), `hasNextPage` from one item read past the page, and `totalCount` (one
   * COUNT statement, only when asked for). `include` as for `list`; `page`: whether edges or
   * pageInfo are asked for.
   */
  async connection(
    kind: string,
    page: { first?: number | null; after?: string | null },
    within: Record<string, unknown> | undefined,
    loaders: Loaders,
    options: { include: ReadonlySet<string>; totalCount: boolean; page: boolean },
  ): Promise<ConnectionPage<ResourceRecord>> {
    const def = this.schema.kind(kind);
    const first = pageSize(page.first, 100);
    const keyPrefix = this.keyPrefix(def, within);
    const scope = { kind: def.name, keyPrefix: keyPrefix ?? [] };
    const after = page.after ? decodeCursor(scope, page.after) : null;
    const [read, total] = await Promise.all([
      // Asked only for totalCount: no page to read.
      options.page ? loaders.page(def, { first: first + 1, after, keyPrefix }, options.include) : Promise.resolve([]),
      options.totalCount ? countResources(this.db, def.name, keyPrefix, loaders.only) : Promise.resolve(null),
    ]);
    return connectionOf(scope, read, first, total);
  }

  /** The natural-key prefix of a list narrowed to an ancestor: its identity values, given from the first on. */
  private keyPrefix(def: KindDef, within: Record<string, unknown> | undefined): string[] | undefined {
    if (!within) return undefined;
    const fields = def.identity.filter((f) => f in within);
    const expected = def.identity.slice(0, fields.length);
    if (fields.join() !== expected.join()) {
      const missing = expected.filter((f) => !fields.includes(f));
      throw badInput(
        `A list of ${def.name} narrowed by ${fields.join(', ')} needs ${missing.join(', ')} too: give the ancestors from the first`,
      );
    }
    return JSON.parse(this.rules.naturalKeyFromArgs({ ...def, identity: fields }, within)) as string[];
  }

  /** BAD_USER_INPUT unless `id` is a resource of this kind under this prefix (a cursor of the list, deleted or not, is not checked here). */
  private async requireListed(def: KindDef, id: string, keyPrefix: string[] | undefined): Promise<void> {
    const rows = await this.db.query<{ kind: string; natural_key: string }>('SELECT kind, natural_key FROM resource WHERE id = ?', [id]);
    const row = rows[0];
    const key = row ? (JSON.parse(row.natural_key) as string[]) : null;
    const under = key !== null && (keyPrefix ?? []).every((v, i) => key[i] === v);
    if (!row || row.kind !== def.name || !under)
      throw badInput(`after: ${JSON.stringify(id.slice(0, 100))} is not the id of a ${def.name} of this list`);
  }

  historyPage(first: number | null | undefined): number {
    return pageSize(first, 20);
  }

  /** A nested list's `first`: the schema gives the default, the engine the bounds. */
  nestedPage(first: number | null | undefined, fallback = 100): number {
    return pageSize(first, fallback);
  }

  applyRemoteChanges(events: readonly RemoteChange[]) {
    return applyRemoteChanges(this.remote, events);
  }

  /** Browses a remote type's store in key order (the first step of saving a reference in a UI). */
  async browseRemote(typeName: string, page: { first?: number | null; after?: string | null }): Promise<RemoteEntity[]> {
    return browseEntities(this.remote, this.schema.remoteType(typeName), pageSize(page.first, 50), page.after ?? undefined);
  }
}
