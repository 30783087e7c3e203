import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATIONAL_KINDS } from './support/stores.js';
import { codes, startTestServer, type TestServer } from './support/server.js';

/** One sample line of the Prometheus text format: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the sample with this name and (at least) these labels; 0 when absent. */
const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);

describe.each(OPERATIONAL_KINDS)('GET /metrics after known work on %s', (store) => {
  let s: TestServer;
  const scrape = async () => {
    const res = await fetch(new URL('/metrics', s.url));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return parse(await res.text());
  };
  beforeAll(async () => {
    s = await startTestServer(store);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('counts requests, their duration and statements by operation and outcome', async () => {
    const before = await scrape();
    const { res, statements } = await s.countedGql(`query ListProjects { projects { name } }`);
    expect(res.errors).toBeUndefined();
    await s.ok(`query ListProjects { projects { name } }`);
    await s.ok(`mutation AddProject { createProject(input: { name: "metered" }) { name } }`);
    const dup = await s.gql(`mutation AddProject { createProject(input: { name: "metered" }) { name } }`);
    expect(codes(dup)).toEqual(['ALREADY_EXISTS']);
    await s.ok(`{ project(name: "metered") { name } }`);
    const after = await scrape();

    const delta = (name: string, labels: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
    expect(delta('integrity_graphql_requests_total', { operation: 'ListProjects', outcome: 'ok' })).toBe(2);
    expect(delta('integrity_graphql_requests_total', { operation: 'AddProject', outcome: 'ok' })).toBe(1);
    expect(delta('integrity_graphql_requests_total', { operation: 'AddProject', outcome: 'ALREADY_EXISTS' })).toBe(1);
    // An anonymous operation is named by its root fields.
    expect(delta('integrity_graphql_requests_total', { operation: 'query project', outcome: 'ok' })).toBe(1);
    expect(delta('integrity_graphql_request_duration_seconds_count', { operation: 'ListProjects', outcome: 'ok' })).toBe(2);
    expect(delta('integrity_graphql_request_duration_seconds_sum', { operation: 'ListProjects', outcome: 'ok' })).toBeGreaterThan(0);
    expect(delta('integrity_sql_statements_per_operation_count', { operation: 'ListProjects' })).toBe(2);
    // The same statements the statement log saw, twice.
    expect(delta('integrity_sql_statements_per_operation_sum', { operation: 'ListProjects' })).toBe(2 * statements.length);
  });

  it('counts remote calls, cache reads by status, breaker state per source', async () => {
    const before = await scrape();
    await s.ok(`mutation { createProject(input: { name: "billed", billingAccount: { number: "ACC-1001", owner: "e-1" } }) { id } }`);
    const read = await s.ok(`{ project(name: "billed") { billingAccount { status } } }`);
    expect(read).toEqual({ project: { billingAccount: { status: 'FRESH' } } });
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
    expect(delta('integrity_remote_calls_total', { source: 'client', outcome: 'ok' })).toBe(1);
    expect(delta('integrity_remote_failures_total', { source: 'client' })).toBe(0);
    expect(delta('integrity_remote_cache_reads_total', { status: 'FRESH' })).toBe(1);
    expect(value(after, 'integrity_remote_breaker_state', { source: 'client', state: 'closed' })).toBe(1);
    expect(value(after, 'integrity_remote_breaker_state', { source: 'client', state: 'open' })).toBe(0);
  });

  it('counts maintenance runs with their duration and outcome, and shows the lease free again', async () => {
    const before = await scrape();
    await s.ok(`mutation { collectGarbage(dryRun: true) { deleted } }`);
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
    expect(delta('integrity_maintenance_runs_total', { job: 'gc', outcome: 'ok' })).toBe(1);
    expect(delta('integrity_maintenance_run_duration_seconds_count', { job: 'gc', outcome: 'ok' })).toBe(1);
    expect(after.some((x) => x.name === 'integrity_lease_held' && x.labels.lease === 'maintenance' && x.value === 0)).toBe(true);
  });

  it('serves the process defaults', async () => {
    const samples = await scrape();
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(samples.some((x) => x.name === name), name).toBe(true);
    }
  });
});
