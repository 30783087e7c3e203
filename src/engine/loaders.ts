import DataLoader from 'dataloader';
import type { Timestamp } from '../data/time.js';
import type { RemoteContext } from '../remote/context.js';
import { loadRemoteEntities, loadRemoteLinks, needsFetch, refill, type RemoteEntityKey, type RemoteLinkKey } from '../remote/reader.js';
import { remoteReferrers, remoteRefsByIds, type RemoteRefRecord, type TypedHash } from '../remote/remote-ref-store.js';
import type { RemoteEntity } from '../remote/sources/source.js';
import { groupBy } from '../util/group-by.js';
import type { ReferenceRecord, ResourceRecord, VersionRecord } from './resources/model.js';
import type { ApprovalRecord, PinRecord, RemoteSnapshotRecord } from './approvals/model.js';
import { approvalsByIds, approvalsInForce, pinsFor, pinsOf, snapshotsOf, staleApprovals } from './approvals/store.js';
import { childrenPage, EVERYTHING, latestVersions, referencesFrom, referencesToPage, resourcesByIds, resourcesByNaturalKeys, versionsAt } from './resources/store.js';
import type { SqlCondition } from './resources/tenancy.js';

/**
 * Per-request DataLoaders: whatever one GraphQL operation asks for in a tick is fetched with one
 * statement per loader (chunked), so statement counts do not grow with list sizes. With
 * `batching: false` every load is its own statement: the N+1 baseline benchmarks compare with.
 * `only` is the caller's tenancy condition: every statement that finds resources by id, parent or
 * reference carries it, so rows of projects the caller may not see are never read.
 */
export function createLoaders(ctx: RemoteContext, options: { batching: boolean; only?: SqlCondition }) {
  const only = options.only ?? EVERYTHING;
  const db = ctx.db;
  const opts = { batch: options.batching };
  const keyed = <K, V>(fn: (keys: readonly K[]) => Promise<(V | Error)[]>, cacheKeyFn: (k: K) => string) =>
    new DataLoader<K, V, string>(fn, { ...opts, cacheKeyFn });

  const resource = new DataLoader<string, ResourceRecord | null>(async (ids) => {
    const byId = new Map((await resourcesByIds(db, ids, '', only)).map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id) ?? null);
  }, opts);

  const prime = (records: ResourceRecord[]) => {
    for (const r of records) resource.prime(r.id, r);
    return records;
  };

  /** Federation's second @key: resources by kind and natural key, one statement per kind. */
  const resourceByNaturalKey = keyed<{ kind: string; naturalKey: string }, ResourceRecord | null>(async (keys) => {
    const found = new Map<string, ResourceRecord>();
    for (const [kind, group] of groupBy(keys, (k) => k.kind)) {
      for (const r of prime(await resourcesByNaturalKeys(db, kind, group.map((g) => g.naturalKey), '', only))) found.set(`${kind}|${r.naturalKey}`, r);
    }
    return keys.map((k) => found.get(`${k.kind}|${k.naturalKey}`) ?? null);
  }, (k) => `${k.kind}|${k.naturalKey}`);

  const children = keyed<{ parentId: string; kind: string; first: number }, ResourceRecord[]>(async (keys) => {
    const found = new Map<string, ResourceRecord[]>();
    for (const [kindAndFirst, group] of groupBy(keys, (k) => `${k.kind}|${k.first}`)) {
      const { kind, first } = group[0];
      const rows = prime(await childrenPage(db, group.map((g) => g.parentId), kind, first, only));
      for (const [parentId, list] of groupBy(rows, (r) => r.parentId!)) found.set(`${parentId}|${kindAndFirst}`, list);
    }
    return keys.map((k) => found.get(`${k.parentId}|${k.kind}|${k.first}`) ?? []);
  }, (k) => `${k.parentId}|${k.kind}|${k.first}`);

  const referencesOut = new DataLoader<string, ReferenceRecord[]>(async (ids) => {
    const by = groupBy(await referencesFrom(db, ids), (r) => r.fromId);
    return ids.map((id) => by.get(id) ?? []);
  }, opts);

  const referencesIn = keyed<{ id: string; first: number }, ReferenceRecord[]>(async (keys) => {
    const out = new Map<string, ReferenceRecord[]>();
    for (const [first, group] of groupBy(keys, (k) => k.first)) {
      const by = groupBy(await referencesToPage(db, group.map((g) => g.id), first, only), (r) => r.toId);
      for (const g of group) out.set(`${g.id}|${first}`, by.get(g.id) ?? []);
    }
    return keys.map((k) => out.get(`${k.id}|${k.first}`) ?? []);
  }, (k) => `${k.id}|${k.first}`);

  const history = keyed<{ id: string; first: number }, VersionRecord[]>(async (keys) => {
    const out = new Map<string, VersionRecord[]>();
    for (const [first, group] of groupBy(keys, (k) => k.first)) {
      const by = groupBy(await latestVersions(db, group.map((g) => g.id), first), (v) => v.resourceId);
      for (const g of group) out.set(`${g.id}|${first}`, by.get(g.id) ?? []);
    }
    return keys.map((k) => out.get(`${k.id}|${k.first}`) ?? []);
  }, (k) => `${k.id}|${k.first}`);

  const asOf = keyed<{ id: string; at: Timestamp }, VersionRecord | null>(async (keys) => {
    const out = new Map<string, VersionRecord>();
    for (const [at, group] of groupBy(keys, (k) => k.at)) {
      for (const v of await versionsAt(db, group.map((g) => g.id), at)) out.set(`${v.resourceId}|${at}`, v);
    }
    return keys.map((k) => out.get(`${k.id}|${k.at}`) ?? null);
  }, (k) => `${k.id}|${k.at}`);

  const remoteLink = keyed<RemoteLinkKey, RemoteRefRecord | null>((keys) => loadRemoteLinks(ctx, keys), (k) => `${k.resourceId}|${k.path}`);

  const remoteRef = new DataLoader<string, RemoteRefRecord | null>(async (ids) => {
    const rows = await remoteRefsByIds(db, ids, only);
    await refill(ctx, needsFetch(ctx, rows));
    const by = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => by.get(id) ?? null);
  }, opts);

  const remoteEntity = keyed<RemoteEntityKey, RemoteEntity | null>((keys) => loadRemoteEntities(ctx, keys), (k) => `${k.entityType}|${k.hashKey}`);

  const referrersOfRemote = keyed<TypedHash, { resourceId: string; path: string }[]>(async (keys) => {
    const by = groupBy(await remoteReferrers(db, keys, only), (r) => `${r.entity_type}|${r.remote_hash_key}`);
    return keys.map((k) => (by.get(`${k.entityType}|${k.hashKey}`) ?? []).map((r) => ({ resourceId: r.resource_id, path: r.path })));
  }, (k) => `${k.entityType}|${k.hashKey}`);

  const approval = new DataLoader<string, ApprovalRecord | null>(async (ids) => {
    const by = new Map((await approvalsByIds(db, ids, only)).map((a) => [a.id, a]));
    return ids.map((id) => by.get(id) ?? null);
  }, opts);

  const approvalInForce = new DataLoader<string, ApprovalRecord | null>(async (resourceIds) => {
    const by = new Map((await approvalsInForce(db, resourceIds)).map((a) => [a.resourceId, a]));
    return resourceIds.map((id) => by.get(id) ?? null);
  }, opts);

  const pins = new DataLoader<string, PinRecord[]>(async (approvalIds) => {
    const by = groupBy(await pinsOf(db, approvalIds), (p) => p.approvalId);
    return approvalIds.map((id) => by.get(id) ?? []);
  }, opts);

  const pin = keyed<{ approvalId: string; resourceId: string }, PinRecord | null>(async (keys) => {
    const found = await pinsFor(db, keys);
    return keys.map((k) => found.find((p) => p.approvalId === k.approvalId && p.resourceId === k.resourceId) ?? null);
  }, (k) => `${k.approvalId}|${k.resourceId}`);

  const stale = new DataLoader<string, boolean>(async (approvalIds) => {
    const staleOnes = await staleApprovals(db, approvalIds);
    return approvalIds.map((id) => staleOnes.has(id));
  }, opts);

  const snapshots = keyed<{ approvalId: string; resourceId: string }, RemoteSnapshotRecord[]>(async (keys) => {
    const by = groupBy(await snapshotsOf(db, keys.map((k) => k.approvalId)), (s) => `${s.approvalId}|${s.resourceId}`);
    return keys.map((k) => by.get(`${k.approvalId}|${k.resourceId}`) ?? []);
  }, (k) => `${k.approvalId}|${k.resourceId}`);

  return {
    /** The caller's tenancy condition: reads made for this request outside the loaders use it too. */
    only,
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
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
