import DataLoader from 'dataloader';
import type { Timestamp } from '../data/time.js';
import type { RemoteContext } from '../remote/context.js';
import { loadRemoteEntities, loadRemoteLinks, needsFetch, refill, type RemoteEntityKey, type RemoteLinkKey } from '../remote/reader.js';
import { remoteReferrers, remoteRefsByIds, type RemoteRefRecord, type TypedHash } from '../remote/remote-ref-store.js';
import { remoteCacheReads } from '../observability/metrics.js';
import type { RemoteEntity } from '../remote/sources/source.js';
import { groupBy } from '../util/group-by.js';
import type { ReferenceRecord, ResourceRecord, VersionRecord } from './resources/model.js';
import type { ApprovalRecord, PinRecord, RemoteSnapshotRecord } from './approvals/model.js';
import type { DeletionExplanationRecord } from './lifecycle/model.js';
import { approvalsByIds, approvalsInForce, pinsFor, pinsOf, snapshotsOf, staleApprovals } from './approvals/store.js';
import {
  childrenPage,
  columnsFor,
  EVERYTHING,
  referencesFrom,
  referencesToPage,
  RESOURCE_COLUMNS,
  resourcesByIds,
  resourcesByNaturalKeys,
  versionsAt,
  versionsNumbered,
  versionsUpTo,
} from './resources/store.js';
import type { SqlCondition } from './resources/tenancy.js';
import type { KindDef } from '../model/model.js';
import { listResources, readPage, type PageOptions } from './resources/page.js';

/**
 * Per-request DataLoaders: whatever one GraphQL operation asks for in a tick is fetched with one
 * statement per loader (chunked), so statement counts do not grow with list sizes. With
 * `batching: false` every load is its own statement: the N+1 baseline benchmarks compare with.
 * `only` is the caller's tenancy condition: every statement that finds resources by id, parent or
 * reference carries it, so rows of projects the caller may not see are never read.
 */
export function createLoaders(
  ctx: RemoteContext,
  options: {
    batching: boolean;
    only?: SqlCondition;
    explainDeletion: (records: readonly ResourceRecord[]) => Promise<DeletionExplanationRecord[]>;
  },
) {
  const only = options.only ?? EVERYTHING;
  const db = ctx.db;
  const opts = { batch: options.batching };
  const keyed = <K, V>(fn: (keys: readonly K[]) => Promise<(V | Error)[]>, cacheKeyFn: (k: K) => string) =>
    new DataLoader<K, V, string>(fn, { ...opts, cacheKeyFn });

  // The one record of each resource this request answers with, whichever path read it first:
  // paths of one operation that reach the same resource answer the same, even if a write landed
  // between their statements. The resource loader answers these without a statement (a plain map:
  // priming the loader would make a promise per record). Only complete records read under `only`
  // are put here, so nothing the caller may not read is answered.
  const known = new Map<string, ResourceRecord>();
  const same = (r: ResourceRecord): ResourceRecord => {
    const held = known.get(r.id);
    if (held) return held;
    known.set(r.id, r);
    return r;
  };
  // Records a list read without their documents (columnsFor), by id: what this request answered
  // for those resources, every field but the content. A complete read of one of them later in
  // the request (a write may have landed in between) is answered as the list saw it: its columns,
  // and the document of its version (the current row's when the version is the same, else the
  // history's). Only a version pruned meanwhile leaves the later read with the newer state.
  const seenWithoutContent = new Map<string, ResourceRecord>();

  /** Puts in `known` what the request answers for resources a list read without content, given their rows read now (absent: gone). */
  const answerAsSeen = async (rows: ReadonlyMap<string, ResourceRecord>, ids: Iterable<string>): Promise<void> => {
    const behind: ResourceRecord[] = [];
    for (const id of ids) {
      const seen = seenWithoutContent.get(id);
      if (!seen || known.has(id)) continue;
      const now = rows.get(id);
      if (now && sameColumns(seen, now)) known.set(id, now);
      else if (now && now.version === seen.version) known.set(id, { ...seen, content: now.content });
      else behind.push(seen);
    }
    if (!behind.length) return;
    for (const v of await versionsNumbered(
      db,
      behind.map((r) => ({ id: r.id, version: r.version })),
    )) {
      const seen = seenWithoutContent.get(v.resourceId)!;
      if (v.version === seen.version) known.set(seen.id, { ...seen, content: v.content });
    }
  };

  const resource = new DataLoader<string, ResourceRecord | null>(async (ids) => {
    const missing = ids.filter((id) => !known.has(id));
    const byId = new Map((await resourcesByIds(db, missing, '', only)).map((r) => [r.id, r]));
    await answerAsSeen(byId, missing);
    return ids.map((id) => {
      const read = byId.get(id);
      return known.get(id) ?? (read ? same(read) : null);
    });
  }, opts);

  /** Complete records read under `only` for this request, as this request answers them (see `known` and `seenWithoutContent`). */
  const prime = async (records: readonly ResourceRecord[]): Promise<ResourceRecord[]> => {
    if (seenWithoutContent.size)
      await answerAsSeen(
        new Map(records.map((r) => [r.id, r])),
        records.map((r) => r.id),
      );
    return records.map(same);
  };

  /** Records of a list read without content (complete ones are primed): the one answer per resource, too. */
  const keepWithoutContent = (records: readonly ResourceRecord[]): ResourceRecord[] =>
    records.map((r) => {
      const held = known.get(r.id) ?? seenWithoutContent.get(r.id);
      if (held) return held;
      seenWithoutContent.set(r.id, r);
      return r;
    });

  // Likewise the one remote_ref record of each remote reference: a row two paths refilled apart
  // would otherwise answer two `fetchedAt`s (or a fetched and a failed state) in one response.
  const remoteSeen = new Map<string, RemoteRefRecord>();
  const sameRemote = (r: RemoteRefRecord | null): RemoteRefRecord | null => {
    if (!r) return r;
    const held = remoteSeen.get(r.id);
    if (held) return held;
    remoteSeen.set(r.id, r);
    return r;
  };

  /** Federation's second @key: resources by kind and natural key, one statement per kind. */
  const resourceByNaturalKey = keyed<{ kind: string; naturalKey: string }, ResourceRecord | null>(
    async (keys) => {
      const found = new Map<string, ResourceRecord>();
      for (const [kind, group] of groupBy(keys, (k) => k.kind)) {
        for (const r of await prime(
          await resourcesByNaturalKeys(
            db,
            kind,
            group.map((g) => g.naturalKey),
            '',
            only,
          ),
        ))
          found.set(`${kind}|${r.naturalKey}`, r);
      }
      return keys.map((k) => found.get(`${k.kind}|${k.naturalKey}`) ?? null);
    },
    (k) => `${k.kind}|${k.naturalKey}`,
  );

  const children = keyed<{ parentId: string; kind: string; first: number }, ResourceRecord[]>(
    async (keys) => {
      const found = new Map<string, ResourceRecord[]>();
      for (const [kindAndFirst, group] of groupBy(keys, (k) => `${k.kind}|${k.first}`)) {
        const { kind, first } = group[0];
        const rows = await prime(
          await childrenPage(
            db,
            group.map((g) => g.parentId),
            kind,
            first,
            only,
          ),
        );
        for (const [parentId, list] of groupBy(rows, (r) => r.parentId!)) found.set(`${parentId}|${kindAndFirst}`, list);
      }
      return keys.map((k) => found.get(`${k.parentId}|${k.kind}|${k.first}`) ?? []);
    },
    (k) => `${k.parentId}|${k.kind}|${k.first}`,
  );

  const referencesOut = new DataLoader<string, ReferenceRecord[]>(async (ids) => {
    const by = groupBy(await referencesFrom(db, ids), (r) => r.fromId);
    return ids.map((id) => by.get(id) ?? []);
  }, opts);

  const referencesIn = keyed<{ id: string; first: number }, ReferenceRecord[]>(
    async (keys) => {
      const out = new Map<string, ReferenceRecord[]>();
      for (const [first, group] of groupBy(keys, (k) => k.first)) {
        const by = groupBy(
          await referencesToPage(
            db,
            group.map((g) => g.id),
            first,
            only,
          ),
          (r) => r.toId,
        );
        for (const g of group) out.set(`${g.id}|${first}`, by.get(g.id) ?? []);
      }
      return keys.map((k) => out.get(`${k.id}|${k.first}`) ?? []);
    },
    (k) => `${k.id}|${k.first}`,
  );

  // A resource's history and its version at an instant are read as of the version this request
  // answers for it (`version`): versions written since are left out, and that version has no end
  // yet, as it had none in the state the request answers.
  const history = keyed<{ id: string; first: number; version: number }, VersionRecord[]>(
    async (keys) => {
      const out = new Map<string, VersionRecord[]>();
      for (const [first, group] of groupBy(keys, (k) => k.first)) {
        const by = groupBy(await versionsUpTo(db, group, first), (v) => v.resourceId);
        for (const g of group)
          out.set(
            `${g.id}|${first}|${g.version}`,
            (by.get(g.id) ?? []).map((v) => current(v, g.version)),
          );
      }
      return keys.map((k) => out.get(`${k.id}|${k.first}|${k.version}`) ?? []);
    },
    (k) => `${k.id}|${k.first}|${k.version}`,
  );

  const asOf = keyed<{ id: string; at: Timestamp; version: number }, VersionRecord | null>(
    async (keys) => {
      const out = new Map<string, VersionRecord>();
      for (const [at, group] of groupBy(keys, (k) => k.at)) {
        const answered = new Map(group.map((g) => [g.id, g.version]));
        const found = await versionsAt(
          db,
          group.map((g) => g.id),
          at,
        );
        // A version newer than the one answered: at that instant, the answered one was still current.
        const newer = found.filter((v) => v.version > answered.get(v.resourceId)!);
        const instead = new Map(
          (
            await versionsNumbered(
              db,
              newer.map((v) => ({ id: v.resourceId, version: answered.get(v.resourceId)! })),
            )
          ).map((v) => [v.resourceId, v]),
        );
        for (const v of found) {
          const version = answered.get(v.resourceId)!;
          const chosen = v.version > version ? instead.get(v.resourceId) : v;
          if (chosen) out.set(`${v.resourceId}|${at}|${version}`, current(chosen, version));
        }
      }
      return keys.map((k) => out.get(`${k.id}|${k.at}|${k.version}`) ?? null);
    },
    (k) => `${k.id}|${k.at}|${k.version}`,
  );

  const remoteLink = keyed<RemoteLinkKey, RemoteRefRecord | null>(
    async (keys) => (await loadRemoteLinks(ctx, keys)).map(sameRemote),
    (k) => `${k.resourceId}|${k.path}`,
  );

  const remoteRef = new DataLoader<string, RemoteRefRecord | null>(async (ids) => {
    const rows = await remoteRefsByIds(db, ids, only);
    await refill(
      ctx,
      needsFetch(
        ctx,
        rows.filter((r) => !remoteSeen.has(r.id)),
      ),
    );
    const by = new Map(rows.map((r) => [r.id, sameRemote(r)]));
    return ids.map((id) => by.get(id) ?? null);
  }, opts);

  const remoteEntity = keyed<RemoteEntityKey, RemoteEntity | null>(
    (keys) => loadRemoteEntities(ctx, keys, { held: (id) => remoteSeen.has(id), same: (r) => sameRemote(r)! }),
    (k) => `${k.entityType}|${k.hashKey}`,
  );

  const referrersOfRemote = keyed<TypedHash, { resourceId: string; path: string }[]>(
    async (keys) => {
      const by = groupBy(await remoteReferrers(db, keys, only), (r) => `${r.entity_type}|${r.remote_hash_key}`);
      return keys.map((k) => (by.get(`${k.entityType}|${k.hashKey}`) ?? []).map((r) => ({ resourceId: r.resource_id, path: r.path })));
    },
    (k) => `${k.entityType}|${k.hashKey}`,
  );

  // The one record of each approval this request answers, as for resources: a revoke (or a new
  // approval) landing between two reads must not show one approval both in force and revoked, or
  // a group without the approval in force the same answer shows for it.
  const approvalSeen = new Map<string, ApprovalRecord>();
  /** By resource: the approval this request answered in force for it, if any. */
  const answeredInForce = new Map<string, ApprovalRecord>();
  const sameApproval = (a: ApprovalRecord): ApprovalRecord => {
    const held = approvalSeen.get(a.id);
    if (held) return held;
    approvalSeen.set(a.id, a);
    if (a.revokedAt === null && !answeredInForce.has(a.resourceId)) answeredInForce.set(a.resourceId, a);
    return a;
  };

  const approval = new DataLoader<string, ApprovalRecord | null>(async (ids) => {
    const by = new Map((await approvalsByIds(db, ids, only)).map((a) => [a.id, a]));
    return ids.map((id) => {
      const read = by.get(id);
      return read ? sameApproval(read) : null;
    });
  }, opts);

  const approvalInForce = new DataLoader<string, ApprovalRecord | null>(async (resourceIds) => {
    const by = new Map((await approvalsInForce(db, resourceIds)).map((a) => [a.resourceId, a]));
    return resourceIds.map((id) => {
      const read = by.get(id);
      return answeredInForce.get(id) ?? (read ? sameApproval(read) : null);
    });
  }, opts);

  const pins = new DataLoader<string, PinRecord[]>(async (approvalIds) => {
    const by = groupBy(await pinsOf(db, approvalIds), (p) => p.approvalId);
    return approvalIds.map((id) => by.get(id) ?? []);
  }, opts);

  const pin = keyed<{ approvalId: string; resourceId: string }, PinRecord | null>(
    async (keys) => {
      const found = await pinsFor(db, keys);
      return keys.map((k) => found.find((p) => p.approvalId === k.approvalId && p.resourceId === k.resourceId) ?? null);
    },
    (k) => `${k.approvalId}|${k.resourceId}`,
  );

  const stale = new DataLoader<string, boolean>(async (approvalIds) => {
    const staleOnes = await staleApprovals(db, approvalIds);
    return approvalIds.map((id) => staleOnes.has(id));
  }, opts);

  const snapshots = keyed<{ approvalId: string; resourceId: string }, RemoteSnapshotRecord[]>(
    async (keys) => {
      const by = groupBy(
        await snapshotsOf(
          db,
          keys.map((k) => k.approvalId),
        ),
        (s) => `${s.approvalId}|${s.resourceId}`,
      );
      return keys.map((k) => by.get(`${k.approvalId}|${k.resourceId}`) ?? []);
    },
    (k) => `${k.approvalId}|${k.resourceId}`,
  );

  // Why each resource is not collected (or what would stop its deletion): one explanation for the batch.
  const deletion = keyed<ResourceRecord, DeletionExplanationRecord>(
    (records) => options.explainDeletion(records),
    (r) => r.id,
  );

  /**
   * What a page read brought along, by field and then resource id, ready for field resolvers to
   * return without a loader round: a reference's target, a list's targets in index order (null
   * where the target is not readable, so `first` counts as on the loader path), a remote
   * reference (null when the resource has none). A field or resource absent here goes through
   * the loaders.
   */
  const preloaded = new Map<string, Map<string, Preloaded>>();

  /**
   * A page of a kind under the caller's tenancy condition, with the references and remote
   * references `include` names (readPage: the page with its links and references, then the linked
   * remote_ref rows), the references' targets through the (tenancy-filtered) resource loader, and
   * evicted remote entities refetched as loadRemoteLinks does.
   */
  const page = async (kind: KindDef, at: PageOptions, include: ReadonlySet<string>): Promise<ResourceRecord[]> => {
    const remoteFields = opts.batch ? kind.remoteReferences.filter((r) => include.has(r.field)) : [];
    const refFields = opts.batch ? kind.references.filter((r) => include.has(r.field)) : [];
    // The document only when the items' fields read it (columnsFor).
    const { columns, complete } =
      !opts.batch || include.size === 0 ? { columns: RESOURCE_COLUMNS, complete: true } : columnsFor(kind, include);
    const keep = (records: ResourceRecord[]) => (complete ? prime(records) : keepWithoutContent(records));
    if (!remoteFields.length && !refFields.length) return keep(await listResources(db, kind.name, at, only, columns));
    const read = await readPage(db, kind.name, at, { remote: remoteFields.length > 0, references: refFields, columns }, only);
    const records = await keep(read.records);
    // Staged here and published at the end, all at once: other paths of the operation read
    // `preloaded` while this page still awaits its remote rows and targets, and must find either
    // nothing (and load for themselves) or the complete value, never a placeholder.
    const staged = new Map<string, Map<string, Preloaded>>();
    const field = (name: string) => {
      let m = staged.get(name);
      if (!m) {
        m = new Map();
        staged.set(name, m);
      }
      return m;
    };
    // The linked remote_ref rows (by id: the links came from the tenancy-filtered page) and the
    // references' targets (through the resource loader: one statement per 500 distinct targets,
    // cached for the request, under the caller's tenancy condition) are read at the same time.
    const targetIds = new Set<string>();
    for (const refs of read.references.values()) for (const [, toId] of refs) targetIds.add(toId);
    const ids = [...targetIds];
    const found = ids.length ? resource.loadMany(ids) : Promise.resolve([]);
    const remote = read.remoteIds.length ? remoteRefsByIds(db, read.remoteIds) : Promise.resolve([]);
    // Both are awaited below; neither may fail unhandled while the other is awaited.
    found.catch(() => undefined);
    remote.catch(() => undefined);
    if (remoteFields.length) {
      const byField = new Map(remoteFields.map((f) => [f.field, field(f.field)]));
      for (const m of byField.values()) for (const r of records) m.set(r.id, null);
      const rows = await remote;
      await refill(
        ctx,
        needsFetch(
          ctx,
          rows.filter((r) => !remoteSeen.has(r.id)),
        ),
      );
      const byId = new Map(rows.map((rec) => [rec.id, sameRemote(rec)!]));
      // Counted per status once per page: a labelled counter's inc costs a label lookup per call.
      const reads = { FRESH: 0, DELETED: 0, MISSING: 0 };
      for (const link of read.links) {
        const m = byField.get(link.path);
        const rec = byId.get(link.remoteRefId);
        if (!m || !rec) continue;
        m.set(link.resourceId, rec);
        reads[rec.status]++;
      }
      for (const [status, n] of Object.entries(reads)) if (n) remoteCacheReads.inc({ status }, n);
    }
    if (refFields.length) {
      const loaded = await found;
      const targets = new Map<string, ResourceRecord>();
      ids.forEach((id, i) => {
        const t = loaded[i];
        if (t && !(t instanceof Error)) targets.set(id, t);
      });
      const single = refFields.filter((f) => !f.list).map((f) => field(f.field));
      const lists = new Map(refFields.filter((f) => f.list).map((f) => [f.field, field(f.field)]));
      for (const r of records) {
        for (const m of single) m.set(r.id, null);
        for (const m of lists.values()) m.set(r.id, []);
      }
      for (const [id, refs] of read.references) {
        let unordered = false;
        for (const [path, toId] of refs) {
          const target = targets.get(toId) ?? null;
          const bracket = path.indexOf('[');
          if (bracket < 0) {
            if (target) staged.get(path)?.set(id, target);
            continue;
          }
          const list = lists.get(path.slice(0, bracket))?.get(id) as (ResourceRecord | null)[] | undefined;
          if (!list) continue;
          // The aggregate's order is not guaranteed: a list that does not arrive as 0, 1, 2… is rebuilt in index order.
          if (Number(path.slice(bracket + 1, -1)) !== list.length) unordered = true;
          list.push(target);
        }
        if (unordered) for (const [name, m] of lists) m.set(id, inIndexOrder(name, refs, targets));
      }
    }
    publish(staged);
    return records;
  };

  /** Makes a page's values visible; a value another read already published stays (both came from the store, the first was answered). */
  const publish = (staged: Map<string, Map<string, Preloaded>>) => {
    for (const [name, values] of staged) {
      const m = preloaded.get(name);
      if (!m) {
        preloaded.set(name, values);
        continue;
      }
      for (const [id, v] of values) if (!m.has(id)) m.set(id, v);
    }
  };

  const loaders = {
    /** The caller's tenancy condition: reads made for this request outside the loaders use it too. */
    only,
    preloaded,
    page,
    resource,
    resourceByNaturalKey,
    children,
    referencesOut,
    referencesIn,
    history,
    asOf,
    remoteLink,
    remoteRef,
    remoteEntity,
    referrersOfRemote,
    prime,
    approval,
    approvalInForce,
    pins,
    pin,
    stale,
    snapshots,
    deletion,
    /**
     * After a write: everything this request read before it is forgotten (every loader's cache,
     * the records and remote records it answers with, the pages' preloaded values), so the fields
     * read after the write read the written state from the store.
     */
    forget() {
      for (const value of Object.values(loaders)) if (value instanceof DataLoader) value.clearAll();
      known.clear();
      seenWithoutContent.clear();
      remoteSeen.clear();
      approvalSeen.clear();
      answeredInForce.clear();
      preloaded.clear();
    },
  };
  return loaders;
}

export type Loaders = ReturnType<typeof createLoaders>;

/** The version `answered` had no end in the state a request answers (a later write ended it since). */
const current = (v: VersionRecord, answered: number): VersionRecord =>
  v.version === answered && v.validTo !== null ? { ...v, validTo: null } : v;

/** Whether two reads of one resource's row agree on every column but the document. */
function sameColumns(a: ResourceRecord, b: ResourceRecord): boolean {
  return (
    a.version === b.version &&
    a.status === b.status &&
    a.updatedAt === b.updatedAt &&
    a.markedAt === b.markedAt &&
    a.deleteAfter === b.deleteAfter &&
    a.markId === b.markId &&
    a.markedBy === b.markedBy &&
    a.parentId === b.parentId
  );
}

/** The targets of `field[i]` references, by i (null where a target is not readable). */
function inIndexOrder(
  field: string,
  refs: readonly [path: string, toId: string][],
  targets: Map<string, ResourceRecord>,
): (ResourceRecord | null)[] {
  const prefix = `${field}[`;
  return refs
    .filter(([path]) => path.startsWith(prefix))
    .map(([path, toId]) => [Number(path.slice(prefix.length, -1)), targets.get(toId) ?? null] as const)
    .sort((a, b) => a[0] - b[0])
    .map((x) => x[1]);
}

/** A preloaded field's value: a target, a list of targets (null: not readable), a remote reference, or null. */
export type Preloaded = ResourceRecord | (ResourceRecord | null)[] | RemoteRefRecord | null;
