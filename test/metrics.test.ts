import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATIONAL_KINDS } from './support/stores.js';
import { codes, startTestServer, type GraphQLResponse, type TestServer } from './support/server.js';
import { as, jwtEnv } from './support/tokens.js';

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
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);

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
    // The save reads its new key, and reads it once more after its commit (a change that came between is not lost).
    expect(delta('integrity_remote_calls_total', { source: 'client', outcome: 'ok' })).toBe(2);
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
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(
        samples.some((x) => x.name === name),
        name,
      ).toBe(true);
    }
  });
});

/** Distinct values of the `operation` label across the request metrics. */
const operationLabels = (samples: Sample[]) =>
  new Set(
    samples
      .filter((x) => x.name.startsWith('integrity_graphql_request') && x.labels.operation !== undefined)
      .map((x) => x.labels.operation),
  );

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as GraphQLResponse };
}

describe.each(OPERATIONAL_KINDS)('operation labels under a flood of unique names (AUTH_MODE=jwt) on %s', (store) => {
  const MAX = 20;
  let s: TestServer;
  let reader: Record<string, string>;
  let writer: Record<string, string>;
  const scrape = async () => {
    const res = await fetch(s.app.metricsUrl);
    expect(res.status).toBe(200);
    const text = await res.text();
    return { text, samples: parse(text) };
  };
  beforeAll(async () => {
    s = await startTestServer(store, { env: jwtEnv({ METRICS_MAX_OPERATIONS: String(MAX) }) });
    reader = await as('reader', ['integrity:read']);
    writer = await as('writer', ['integrity:write']);
  });
  afterAll(async () => {
    await s?.close();
  });

  const longName = (tag: string, i: number) => `${tag}_${i}_${'x'.repeat(2000)}`;

  it('an unauthenticated or refused caller adds no label: its requests count as `refused` (or `other` for what is open to all) and its names appear nowhere', async () => {
    const before = (await scrape()).samples;
    const N = 210;
    for (let i = 0; i < N; i++) {
      const name = i % 2 ? longName('anon', i) : `Anon${i}`;
      const res = await post(s.url, { query: `query ${name} { projects { name } }`, operationName: name });
      expect(codes(res.body)).toEqual(['UNAUTHENTICATED']);
    }
    // A token without the field's scope is refused the same way (write-only token reading projects).
    for (let i = 0; i < 20; i++) {
      const res = await post(s.url, { query: `query Forbidden${i} { projects { name } }` }, writer);
      expect(codes(res.body)).toEqual(['FORBIDDEN']);
    }
    // What is open without a token answers, but its names do not become labels either.
    for (let i = 0; i < 20; i++) {
      const res = await post(s.url, { query: `query Open${i} { _service { sdl } }` });
      expect(res.body.errors).toBeUndefined();
    }
    const { text, samples } = await scrape();
    expect(text).not.toMatch(/Anon\d|anon_\d|Forbidden\d|Open\d/);
    const delta = (labels: Record<string, string>) =>
      value(samples, 'integrity_graphql_requests_total', labels) - value(before, 'integrity_graphql_requests_total', labels);
    expect(delta({ operation: 'refused', outcome: 'UNAUTHENTICATED' })).toBe(N);
    expect(delta({ operation: 'refused', outcome: 'FORBIDDEN' })).toBe(20);
    expect(delta({ operation: 'other', outcome: 'ok' })).toBe(20);
    expect(operationLabels(samples).size).toBeLessThanOrEqual(MAX + 3);
  });

  it('an authenticated flood of unique names: the first names up to the cap are labels, long or later ones `other`; the scrape stays small', async () => {
    const before = (await scrape()).samples;
    const N = 210;
    for (let i = 0; i < N; i++) {
      const name = i % 2 ? longName('reader', i) : `Reader${i}`;
      const res = await post(s.url, { query: `query ${name} { projects(first: 1) { name } }`, operationName: name }, reader);
      expect(res.body.errors).toBeUndefined();
    }
    const { text, samples } = await scrape();
    const labels = operationLabels(samples);
    expect(labels.size).toBeLessThanOrEqual(MAX + 3);
    expect(text).not.toMatch(/reader_\d/);
    expect([...labels].every((l) => l.length <= 64)).toBe(true);
    const delta = (labels_: Record<string, string>) =>
      value(samples, 'integrity_graphql_requests_total', labels_) - value(before, 'integrity_graphql_requests_total', labels_);
    const named = [...labels].filter((l) => /^Reader\d+$/.test(l));
    expect(named.length).toBeGreaterThan(0);
    expect(named.length).toBeLessThanOrEqual(MAX);
    // Every request is counted once: under its own name (first come) or as `other`.
    const total = named.reduce((n, l) => n + delta({ operation: l, outcome: 'ok' }), 0) + delta({ operation: 'other', outcome: 'ok' });
    expect(total).toBe(N);
    // The series count is bounded by the cap whatever was sent: well under one line per request.
    expect(samples.filter((x) => x.name === 'integrity_graphql_requests_total').length).toBeLessThan(4 * (MAX + 3));
    // A name seen before the cap filled keeps its label.
    await post(s.url, { query: `query ${named[0]} { projects(first: 1) { name } }` }, reader);
    expect(value((await scrape()).samples, 'integrity_graphql_requests_total', { operation: named[0] })).toBe(
      value(samples, 'integrity_graphql_requests_total', { operation: named[0] }) + 1,
    );
  });

  it('a body refused before GraphQL runs counts as `invalid` with the outcome its HTTP status says', async () => {
    const before = (await scrape()).samples;
    const res = await post(s.url, '{"query": "{ projects { name } }", "operationName": "Broken', reader);
    expect(res.status).toBe(400);
    expect(codes(res.body)).toEqual(['BAD_USER_INPUT']);
    const syntax = await post(s.url, { query: `query Syntax { projects { ` }, reader);
    expect(syntax.status).toBe(400);
    const { text, samples } = await scrape();
    expect(text).not.toMatch(/Broken|Syntax/);
    const delta = (labels: Record<string, string>) =>
      value(samples, 'integrity_graphql_requests_total', labels) - value(before, 'integrity_graphql_requests_total', labels);
    // A syntax error answers the contract's BAD_USER_INPUT too (src/server/errors.ts), and is counted as what the caller got.
    expect(delta({ operation: 'invalid', outcome: 'BAD_USER_INPUT' })).toBe(2);
    expect(delta({ operation: 'invalid', outcome: 'GRAPHQL_PARSE_FAILED' })).toBe(0);
    expect(delta({ operation: 'invalid', outcome: 'ok' })).toBe(0);
  });
});

describe('GET /metrics on its own port, behind a token', () => {
  const TOKEN = 'metrics-test-token-7f3a';
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite', { env: { METRICS_PORT: '0', METRICS_TOKEN: TOKEN } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('answers on METRICS_PORT with the token, 401 JSON without it or with a wrong one, and 404 JSON on PORT', async () => {
    const metricsUrl = new URL(s.app.metricsUrl);
    expect(metricsUrl.port).not.toBe(new URL(s.url).port);
    await s.ok(`query Counted { projects { name } }`);

    const ok = await fetch(metricsUrl, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(value(parse(await ok.text()), 'integrity_graphql_requests_total', { operation: 'Counted', outcome: 'ok' })).toBe(1);

    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: TOKEN }] as Record<string, string>[]) {
      const refused = await fetch(metricsUrl, { headers });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await refused.json()) as GraphQLResponse;
      expect(codes(body)).toEqual(['UNAUTHENTICATED']);
      expect(JSON.stringify(body)).not.toContain(TOKEN);
    }

    const onPort = await fetch(new URL('/metrics', s.url), { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(onPort.status).toBe(404);
    expect(codes((await onPort.json()) as GraphQLResponse)).toEqual(['NOT_FOUND']);
    // Only /metrics is served on the metrics port.
    const graphqlThere = await fetch(new URL('/graphql', metricsUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query":"{ __typename }"}',
    });
    expect(graphqlThere.status).toBe(404);
  });
});

describe('GET /metrics beside /graphql behind a token', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite', { env: { METRICS_TOKEN: 'beside-token' } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('answers on PORT with the token only', async () => {
    expect(s.app.metricsUrl).toBe(new URL('/metrics', s.url).toString());
    expect((await fetch(s.app.metricsUrl)).status).toBe(401);
    expect((await fetch(s.app.metricsUrl, { headers: { authorization: 'Bearer beside-token' } })).status).toBe(200);
  });
});
