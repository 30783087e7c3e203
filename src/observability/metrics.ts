import { Counter, Gauge, Histogram, collectDefaultMetrics, register } from 'prom-client';

/**
 * Every metric of the subgraph, on prom-client's default registry (served at GET /metrics). The
 * change-feed metrics live beside the feed (src/remote/feed/metrics.ts) on the same registry.
 * Label values come from small sets the server controls: sources, job and lease names, outcomes,
 * and operation names capped by operation-label.ts (never what a caller sent unchecked).
 */

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const requests = new Counter({
  name: 'integrity_graphql_requests_total',
  help: 'GraphQL requests by operation name and outcome (ok or the first error code)',
  labelNames: ['operation', 'outcome'] as const,
});

export const requestDuration = new Histogram({
  name: 'integrity_graphql_request_duration_seconds',
  help: 'GraphQL request duration by operation name and outcome',
  labelNames: ['operation', 'outcome'] as const,
  buckets: SECONDS,
});

export const statementsPerOperation = new Histogram({
  name: 'integrity_sql_statements_per_operation',
  help: 'SQL statements the operational store received for one GraphQL operation',
  labelNames: ['operation'] as const,
  buckets: [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 1024],
});

export const remoteCacheReads = new Counter({
  name: 'integrity_remote_cache_reads_total',
  help: 'Remote references read through the remote_ref cache, by status (FRESH, DELETED, MISSING)',
  labelNames: ['status'] as const,
});

export const remoteCalls = new Counter({
  name: 'integrity_remote_calls_total',
  help: 'Calls to remote sources (after retries) by source and outcome: ok, failed, or rejected (circuit open)',
  labelNames: ['source', 'outcome'] as const,
});

export const remoteFailures = new Counter({
  name: 'integrity_remote_failures_total',
  help: 'Failed attempts at remote sources (each retry counts), by source',
  labelNames: ['source'] as const,
});

type BreakerProbe = () => Iterable<[source: string, state: 'closed' | 'open' | 'half-open']>;
const breakerProbes = new Set<BreakerProbe>();
const BREAKER_STATES = ['closed', 'half-open', 'open'] as const;

export const breakerState = new Gauge({
  name: 'integrity_remote_breaker_state',
  help: 'Circuit breaker per remote source: 1 for its current state (closed, half-open, open), 0 for the others',
  labelNames: ['source', 'state'] as const,
  collect() {
    this.reset();
    for (const probe of breakerProbes) {
      for (const [source, state] of probe()) for (const s of BREAKER_STATES) this.set({ source, state: s }, s === state ? 1 : 0);
    }
  },
});

/** Reports the breakers' states at every scrape; returns what stops reporting them. */
export function watchBreakers(probe: BreakerProbe): () => void {
  breakerProbes.add(probe);
  return () => breakerProbes.delete(probe);
}

export const maintenanceRuns = new Counter({
  name: 'integrity_maintenance_runs_total',
  help: 'Maintenance runs by job and outcome (ok, skipped: lease held elsewhere, failed)',
  labelNames: ['job', 'outcome'] as const,
});

export const maintenanceDuration = new Histogram({
  name: 'integrity_maintenance_run_duration_seconds',
  help: 'Maintenance run duration by job and outcome',
  labelNames: ['job', 'outcome'] as const,
  buckets: SECONDS,
});

export const leaseHeld = new Gauge({
  name: 'integrity_lease_held',
  help: 'Whether this replica holds the named maintenance lease (1) or not (0)',
  labelNames: ['lease'] as const,
});

/** Process metrics (CPU, memory, event loop, handles), registered once per process. */
export function collectProcessMetrics(): void {
  if (!register.getSingleMetric('process_cpu_user_seconds_total')) collectDefaultMetrics();
}

export { register };
