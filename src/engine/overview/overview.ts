import type { Sql } from '../../data/db.js';
import type { Timestamp } from '../../data/time.js';
import { feedMetrics } from '../../remote/feed/metrics.js';
import type { RemoteSource } from '../../remote/sources/source.js';
import { maintenanceRuns } from '../../observability/metrics.js';
import type { SqlCondition } from '../resources/tenancy.js';

/**
 * What the integrity console's overview shows, read in a handful of aggregate statements: counts
 * per kind and status (under the caller's tenancy condition), the remote cache per type, and this
 * replica's view of its sources, change feed and maintenance. Nothing here writes.
 */

export interface KindStatusCount {
  kind: string;
  status: string;
  count: number;
}

export interface RemoteCacheHealth {
  entityType: string;
  fresh: number;
  deleted: number;
  missing: number;
  /** Rows whose last read of the remote store failed (the copy, if any, is kept). */
  failing: number;
  oldestFetchedAt: Timestamp | null;
}

export interface SourceHealth {
  name: string;
  /** closed, open, half-open; null for a source without a breaker. */
  breaker: string | null;
}

export interface FeedHealth {
  transport: string;
  lagSeconds: number | null;
  deadLettered: number;
  applied: number;
}

export interface LeaseState {
  name: string;
  holder: string | null;
  since: Timestamp | null;
}

export interface RunCount {
  job: string;
  outcome: string;
  count: number;
}

export async function countByKindAndStatus(sql: Sql, only: SqlCondition): Promise<KindStatusCount[]> {
  const where = only.sql ? `WHERE ${only.sql.replace(/^ AND /, '')}` : '';
  const rows = await sql.query<{ kind: string; status: string; n: number | string }>(
    `SELECT kind, status, COUNT(*) AS n FROM resource ${where} GROUP BY kind, status ORDER BY kind, status`,
    only.params,
  );
  return rows.map((r) => ({ kind: r.kind, status: r.status, count: Number(r.n) }));
}

/** FRESH / DELETED / MISSING as the API names a row (see remote/reader.ts), counted per type. */
export async function remoteCacheHealth(sql: Sql): Promise<RemoteCacheHealth[]> {
  const rows = await sql.query<{
    entity_type: string;
    fresh: number | string;
    deleted: number | string;
    missing: number | string;
    failing: number | string;
    oldest: string | null;
  }>(
    `SELECT entity_type,
            SUM(CASE WHEN deleted = 0 AND cached_entity IS NOT NULL THEN 1 ELSE 0 END) AS fresh,
            SUM(CASE WHEN deleted <> 0 THEN 1 ELSE 0 END) AS deleted,
            SUM(CASE WHEN deleted = 0 AND cached_entity IS NULL THEN 1 ELSE 0 END) AS missing,
            SUM(CASE WHEN last_error IS NOT NULL THEN 1 ELSE 0 END) AS failing,
            MIN(fetched_at) AS oldest
       FROM remote_ref GROUP BY entity_type ORDER BY entity_type`,
  );
  return rows.map((r) => ({
    entityType: r.entity_type,
    fresh: Number(r.fresh),
    deleted: Number(r.deleted),
    missing: Number(r.missing),
    failing: Number(r.failing),
    oldestFetchedAt: r.oldest === null ? null : String(r.oldest),
  }));
}

/** The maintenance leases and who holds each now (an expired lease is held by nobody). */
export async function leases(sql: Sql, now: Timestamp): Promise<LeaseState[]> {
  const rows = await sql.query<{ name: string; holder: string | null; acquired_at: string | null; expires_at: string | null }>(
    'SELECT name, holder, acquired_at, expires_at FROM lease ORDER BY name LIMIT 10',
  );
  return rows.map((r) => {
    const held = r.holder !== null && r.expires_at !== null && String(r.expires_at) > now;
    return { name: r.name, holder: held ? r.holder : null, since: held && r.acquired_at !== null ? String(r.acquired_at) : null };
  });
}

export function sourceHealth(sources: ReadonlyMap<string, RemoteSource>): SourceHealth[] {
  return [...sources.entries()].map(([name, s]) => {
    const probe = s as RemoteSource & { state?: () => string };
    return { name, breaker: typeof probe.state === 'function' ? probe.state() : null };
  });
}

/** This process's change-feed counters (one entry per transport that has reported anything). */
export async function feedHealth(): Promise<FeedHealth[]> {
  const [lag, dead, applied] = await Promise.all([feedMetrics.lag.get(), feedMetrics.deadLettered.get(), feedMetrics.applied.get()]);
  const byTransport = new Map<string, FeedHealth>();
  const entry = (t: unknown) => {
    const transport = String(t ?? 'unknown');
    let e = byTransport.get(transport);
    if (!e) {
      e = { transport, lagSeconds: null, deadLettered: 0, applied: 0 };
      byTransport.set(transport, e);
    }
    return e;
  };
  for (const v of lag.values) entry(v.labels.transport).lagSeconds = v.value;
  for (const v of dead.values) entry(v.labels.transport).deadLettered += v.value;
  for (const v of applied.values) entry(v.labels.transport).applied += v.value;
  return [...byTransport.values()];
}

/** Maintenance runs of this process by job and outcome (ok, skipped, failed). */
export async function maintenanceRunCounts(): Promise<RunCount[]> {
  const runs = await maintenanceRuns.get();
  return runs.values.map((v) => ({ job: String(v.labels.job), outcome: String(v.labels.outcome), count: v.value }));
}
