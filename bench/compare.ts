import { benchServerEnv, startBenchApp } from './lib/app.js';
import { combine, load, type LoadResult } from './lib/load.js';
import { progress, type BenchOptions } from './lib/options.js';
import { median, percentile, round } from './lib/stats.js';
import { benchStores, type StoreKind } from './lib/stores.js';
import { createDomain } from './list.js';
import { spawnServer, type ServerProcess } from './peer/processes.js';
import type { ServerStats } from './peer/serve.js';

/**
 * Issue 13: this subgraph against the usual federation shape, through the same @apollo/gateway.
 *   A  gateway over this subgraph (owners from the remote_ref cache)
 *   B  gateway over the peer: a minimal groups subgraph + an employees subgraph (`_entities`)
 *   C  this subgraph directly
 *   D  the minimal groups subgraph directly (owner ids only)
 * Every server runs in a process of its own (bench/peer/serve.ts), so its CPU time is its own.
 * Cases run interleaved, one request of each per round.
 */

export const COMPARE_QUERY = `query($p: String!, $n: Int!) { deploymentIntentGroups(project: $p, first: $n) {
  name owner { status entity { name email } } clusters { name } logicalCluster { name }
} }`;
const MINIMAL_QUERY = `query($p: String!, $n: Int!) { deploymentIntentGroups(project: $p, first: $n) {
  name owner { status entity { employeeId } } clusters { name } logicalCluster { name }
} }`;

/** Other query shapes, through the same two gateways: latency and throughput of A and B only. */
export const OTHER_SHAPES: { name: string; query: string; first: number }[] = [
  { name: 'a page of 100, same fields', query: COMPARE_QUERY, first: 100 },
  {
    name: '1000 with the group description and the owner department',
    query: `query($p: String!, $n: Int!) { deploymentIntentGroups(project: $p, first: $n) {
  name description owner { status entity { name email department } } clusters { name } logicalCluster { name }
} }`,
    first: 1000,
  },
  {
    name: 'a page of 10, owners only',
    query: `query($p: String!, $n: Int!) { deploymentIntentGroups(project: $p, first: $n) { name owner { entity { name } } } }`,
    first: 10,
  },
];

export interface ShapeResult {
  name: string;
  first: number;
  sameResponse: boolean;
  aMedianMs: number;
  bMedianMs: number;
  /** Requests the gateway sent to subgraphs, per request, for A and for B. */
  aFetches: number;
  bFetches: number;
  bOverA: number;
  aReqPerSec: number;
  bReqPerSec: number;
  throughputAOverB: number;
  errors: number;
}

export interface CompareRow {
  case: 'A' | 'B' | 'C' | 'D';
  what: string;
  medianMs: number;
  p95Ms: number;
  /** SQL statements the subgraphs behind the case sent, per request (client store included for B). */
  statements: number;
  /** Requests the gateway sent to subgraphs, per request. */
  fetches: number;
  /** CPU time of the subgraph processes behind the case, per request. */
  subgraphCpuMs: number;
  /** CPU time of the gateway process, per request (A and B). */
  gatewayCpuMs: number | null;
}

export interface CompareResult {
  store: StoreKind;
  groups: number;
  employees: number;
  rounds: number;
  warmup: number;
  sameResponse: boolean;
  rows: CompareRow[];
  /** B median / A median; A req/s / B req/s; C CPU / D CPU. */
  bOverA: number;
  throughputAOverB: number;
  cpuCOverD: number;
  throughput: { A: LoadResult; B: LoadResult; connections: number; secondsPerSide: number };
  shapes: ShapeResult[];
}

async function post(url: string, query: string, variables: Record<string, unknown>): Promise<string> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  return text;
}

const sum = (stats: ServerStats[], pick: (s: ServerStats) => number) => stats.reduce((t, s) => t + pick(s), 0);

/**
 * Throughput through two gateways: autocannon with 10 connections, `seconds` per run, in the order
 * A B B A so that drift in the machine's load weighs on both.
 */
async function throughputABBA(
  urlA: string,
  urlB: string,
  query: string,
  variables: Record<string, unknown>,
  seconds: number,
): Promise<{ A: LoadResult; B: LoadResult }> {
  const body = JSON.stringify({ query, variables });
  const run = (url: string) =>
    load({ url, method: 'POST', connections: 10, duration: seconds, headers: { 'content-type': 'application/json' }, body });
  const a1 = await run(urlA);
  const b1 = await run(urlB);
  const b2 = await run(urlB);
  const a2 = await run(urlA);
  return { A: combine([a1, a2]), B: combine([b1, b2]) };
}

export async function runCompareBench(store: StoreKind, options: BenchOptions): Promise<CompareResult> {
  const groups = Math.min(options.groups, 1000);
  progress(`compare/${store}: setting up ${groups} groups, ${options.employees} employees`);
  const { op, client, stops } = await benchStores(store, options);
  const servers: ServerProcess[] = [];
  try {
    const setup = await startBenchApp(op.url, client.url);
    try {
      await createDomain(setup, groups, options.employees, options.createConcurrency[store]);
      // Fill the remote_ref cache (creates already did; this is the state every later read sees).
      await setup.post(COMPARE_QUERY, { p: 'bench', n: groups });
    } finally {
      await setup.stop();
    }
    const env = { ...benchServerEnv(op.url, client.url), NODE_ENV: 'production' };
    const profile = process.env.BENCH_CPU_PROF ? [`--cpu-prof`, `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
    const integrity = await spawnServer('integrity', env, profile);
    servers.push(integrity);
    const groupsPeer = await spawnServer('peer-groups', env, profile);
    servers.push(groupsPeer);
    const employeesPeer = await spawnServer('peer-employees', env);
    servers.push(employeesPeer);
    const gatewayA = await spawnServer('gateway', { GATEWAY_SUBGRAPHS: JSON.stringify([{ name: 'integrity', url: integrity.url }]) });
    servers.push(gatewayA);
    const gatewayB = await spawnServer('gateway', {
      GATEWAY_SUBGRAPHS: JSON.stringify([
        { name: 'groups', url: groupsPeer.url },
        { name: 'employees', url: employeesPeer.url },
      ]),
    });
    servers.push(gatewayB);

    const vars = { p: 'bench', n: groups };
    const cases = [
      {
        case: 'A',
        what: '@apollo/gateway over this subgraph (owners from the remote_ref cache)',
        url: gatewayA.url,
        query: COMPARE_QUERY,
        subgraphs: [integrity],
        gateway: gatewayA,
      },
      {
        case: 'B',
        what: '@apollo/gateway over the peer: groups subgraph + employees subgraph',
        url: gatewayB.url,
        query: COMPARE_QUERY,
        subgraphs: [groupsPeer, employeesPeer],
        gateway: gatewayB,
      },
      { case: 'C', what: 'this subgraph directly', url: integrity.url, query: COMPARE_QUERY, subgraphs: [integrity], gateway: null },
      {
        case: 'D',
        what: 'the minimal groups subgraph directly (owner ids only)',
        url: groupsPeer.url,
        query: MINIMAL_QUERY,
        subgraphs: [groupsPeer],
        gateway: null,
      },
    ] as const;

    // Every case answers; A, B and C give the same response, with every owner FRESH.
    const bodies = new Map<string, string>();
    for (const c of cases) bodies.set(c.case, await post(c.url, c.query, vars));
    const data = (t: string) =>
      JSON.parse(t) as { data?: { deploymentIntentGroups: { owner: { status: string; entity: unknown } | null }[] }; errors?: unknown };
    for (const [k, t] of bodies) {
      const d = data(t);
      if (d.errors || d.data?.deploymentIntentGroups.length !== groups)
        throw new Error(`compare/${store}: case ${k} answered ${t.slice(0, 300)}`);
      if (k !== 'D' && d.data.deploymentIntentGroups.some((g) => g.owner?.status !== 'FRESH' || !g.owner.entity))
        throw new Error(`compare/${store}: case ${k} lacks owners`);
    }
    const norm = (t: string) => JSON.stringify(data(t).data);
    const sameResponse = norm(bodies.get('A')!) === norm(bodies.get('B')!) && norm(bodies.get('A')!) === norm(bodies.get('C')!);
    if (!sameResponse) progress(`compare/${store}: WARNING A, B and C answer differently`);

    const samples = new Map(cases.map((c) => [c.case, { ms: [] as number[], st: [] as number[], fe: [] as number[] }]));
    const rounds = options.compareRounds;
    const warmup = options.compareWarmup;
    progress(`compare/${store}: ${cases.length} cases, ${warmup} warm-up + ${rounds} measured rounds`);
    for (let r = 0; r < warmup + rounds; r++) {
      for (const c of cases) {
        const involved = [...c.subgraphs, ...(c.gateway ? [c.gateway] : [])];
        const before = await Promise.all(involved.map((s) => s.stats()));
        const t0 = performance.now();
        await post(c.url, c.query, vars);
        const ms = performance.now() - t0;
        const after = await Promise.all(involved.map((s) => s.stats()));
        if (r < warmup) continue;
        const n = c.subgraphs.length;
        const s = samples.get(c.case)!;
        s.ms.push(ms);
        s.st.push(sum(after.slice(0, n), (x) => x.statements) - sum(before.slice(0, n), (x) => x.statements));
        if (c.gateway) {
          s.fe.push(after[n].fetches - before[n].fetches);
        }
      }
      if ((r + 1) % 10 === 0) progress(`compare/${store}:   round ${r + 1}/${warmup + rounds}`);
    }
    // CPU per request from a block of requests per case: a server's work after it answered (a
    // scavenge, the access log) falls after the request, so per-request readings charged it to
    // whichever case came next. Over a block it is counted once, with its own case.
    const cpuBlock = new Map<string, { sub: number; gw: number | null }>();
    for (const c of cases) {
      const involved = [...c.subgraphs, ...(c.gateway ? [c.gateway] : [])];
      const before = await Promise.all(involved.map((s) => s.stats()));
      for (let i = 0; i < rounds; i++) await post(c.url, c.query, vars);
      const after = await Promise.all(involved.map((s) => s.stats()));
      const n = c.subgraphs.length;
      cpuBlock.set(c.case, {
        sub: (sum(after.slice(0, n), (x) => x.cpuMs) - sum(before.slice(0, n), (x) => x.cpuMs)) / rounds,
        gw: c.gateway ? (after[n].cpuMs - before[n].cpuMs) / rounds : null,
      });
    }
    const rows: CompareRow[] = cases.map((c) => {
      const s = samples.get(c.case)!;
      return {
        case: c.case,
        what: c.what,
        medianMs: round(median(s.ms)),
        p95Ms: round(
          percentile(
            [...s.ms].sort((a, b) => a - b),
            95,
          ),
        ),
        statements: median(s.st),
        fetches: c.gateway ? median(s.fe) : 0,
        subgraphCpuMs: round(cpuBlock.get(c.case)!.sub),
        gatewayCpuMs: c.gateway ? round(cpuBlock.get(c.case)!.gw!) : null,
      };
    });
    for (const row of rows)
      progress(
        `compare/${store}: ${row.case}: median ${row.medianMs} ms, p95 ${row.p95Ms}, subgraph CPU ${row.subgraphCpuMs} ms, statements ${row.statements}`,
      );

    const seconds = options.throughputSeconds;
    const half = Math.max(1, Math.round(seconds / 2));
    progress(`compare/${store}: throughput, 10 connections, ${2 * half} s per side`);
    const throughput = {
      ...(await throughputABBA(gatewayA.url, gatewayB.url, COMPARE_QUERY, vars, half)),
      connections: 10,
      secondsPerSide: 2 * half,
    };
    progress(
      `compare/${store}: A ${throughput.A.reqPerSec} req/s (p99 ${throughput.A.p99Ms} ms), B ${throughput.B.reqPerSec} req/s (p99 ${throughput.B.p99Ms} ms)`,
    );
    const shapes: ShapeResult[] = [];
    for (const shape of OTHER_SHAPES) {
      const v = { p: 'bench', n: Math.min(shape.first, groups) };
      const a = await post(gatewayA.url, shape.query, v);
      const b = await post(gatewayB.url, shape.query, v);
      for (const [k, t] of [
        ['A', a],
        ['B', b],
      ])
        if ((JSON.parse(t) as { errors?: unknown }).errors)
          throw new Error(`compare/${store}: ${shape.name}: ${k} answered ${t.slice(0, 300)}`);
      const ms = { A: [] as number[], B: [] as number[] };
      const fe = { A: [] as number[], B: [] as number[] };
      for (let r = 0; r < warmup + rounds; r++) {
        for (const [k, gw] of [
          ['A', gatewayA],
          ['B', gatewayB],
        ] as const) {
          const before = (await gw.stats()).fetches;
          const t0 = performance.now();
          await post(gw.url, shape.query, v);
          const elapsed = performance.now() - t0;
          const after = (await gw.stats()).fetches;
          if (r < warmup) continue;
          ms[k].push(elapsed);
          fe[k].push(after - before);
        }
      }
      const { A: tA, B: tB } = await throughputABBA(gatewayA.url, gatewayB.url, shape.query, v, Math.max(1, Math.round(seconds / 4)));
      const result: ShapeResult = {
        name: shape.name,
        first: v.n,
        sameResponse: norm(a) === norm(b),
        aMedianMs: round(median(ms.A)),
        bMedianMs: round(median(ms.B)),
        aFetches: median(fe.A),
        bFetches: median(fe.B),
        bOverA: round(median(ms.B) / median(ms.A)),
        aReqPerSec: tA.reqPerSec,
        bReqPerSec: tB.reqPerSec,
        throughputAOverB: round(tA.reqPerSec / tB.reqPerSec),
        errors: tA.errors + tB.errors,
      };
      progress(
        `compare/${store}: ${shape.name}: B/A ${result.bOverA}, A/B throughput ${result.throughputAOverB}${result.sameResponse ? '' : ' (WARNING: A and B answer differently)'}`,
      );
      shapes.push(result);
    }
    const by = (k: string) => rows.find((r) => r.case === k)!;
    return {
      store,
      groups,
      employees: options.employees,
      rounds,
      warmup,
      sameResponse,
      rows,
      bOverA: round(by('B').medianMs / by('A').medianMs),
      throughputAOverB: round(throughput.A.reqPerSec / throughput.B.reqPerSec),
      cpuCOverD: round(by('C').subgraphCpuMs / by('D').subgraphCpuMs),
      throughput,
      shapes,
    };
  } finally {
    for (const s of servers.reverse()) await s.stop().catch(() => undefined);
    for (const stop of stops) await stop().catch((e) => progress(`compare/${store}: while stopping: ${(e as Error).message}`));
  }
}
