import autocannon from 'autocannon';
import { startBenchApp } from './lib/app.js';
import { progress, type BenchOptions } from './lib/options.js';
import { benchStores } from './lib/stores.js';
import { createDomain, groupRefs, PROJECT } from './list.js';
import { spawnServer, type ServerProcess } from './peer/processes.js';
import type { ServerStats } from './peer/serve.js';

/**
 * Issue 13, item 3: a mixed load (reads and 10% writes) against two replicas (processes) of this
 * subgraph on one MariaDB, with autocannon (5 connections per replica) for BENCH_LOAD_SECONDS.
 * Reads list a page of 100 groups with owners, clusters and logical cluster; writes create a group
 * with three references and an owner. Every response is checked: an HTTP error or a GraphQL error
 * counts as an error.
 */

export interface MixedResult {
  seconds: number;
  connections: number;
  requests: number;
  reads: number;
  writes: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  firstError?: string;
  memoryBefore: ServerStats[];
  memoryAfter: ServerStats[];
}

const READ = JSON.stringify({
  query: `query($p: String!) { deploymentIntentGroups(project: $p, first: 100) { name owner { status entity { name email } } clusters { name } logicalCluster { name } } }`,
  variables: { p: PROJECT },
});
const WRITE = `mutation($i: CreateDeploymentIntentGroupInput!) { createDeploymentIntentGroup(input: $i) { id } }`;

export async function runMixedBench(options: BenchOptions): Promise<MixedResult> {
  if (!options.mysqlUrl) throw new Error('the mixed load runs on MariaDB: set BENCH_MYSQL_URL');
  progress(`load/mariadb: setting up 1000 groups`);
  const { op, client, stops } = await benchStores('mariadb', options);
  const replicas: ServerProcess[] = [];
  try {
    const setup = await startBenchApp(op.url, client.url);
    try {
      await createDomain(setup, 1000, options.employees, options.createConcurrency.mariadb);
    } finally {
      await setup.stop();
    }
    const env = {
      DATABASE_URL: op.url,
      CLIENT_DATABASE_URL: client.url,
      HOST: '127.0.0.1',
      PORT: '0',
      SEED_DEMO: 'false',
      NODE_ENV: 'production',
    };
    for (let r = 0; r < 2; r++) replicas.push(await spawnServer('integrity', env));
    for (const r of replicas) await fetch(r.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: READ });
    const memoryBefore = await Promise.all(replicas.map((r) => r.stats()));
    let written = 0;
    let reads = 0;
    let writes = 0;
    let graphqlErrors = 0;
    let firstError: string | undefined;
    const connections = 5;
    progress(`load/mariadb: ${options.loadSeconds} s, ${connections} connections on each of 2 replicas, 10% writes`);
    const runs = replicas.map((replica, r) =>
      autocannon({
        url: replica.url,
        connections,
        duration: options.loadSeconds,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        requests: [
          {
            setupRequest: (req) => {
              // Every 10th request is a write: a new group with three references and an owner.
              if ((reads + writes) % 10 === 9) {
                const n = written++;
                writes++;
                const refs = groupRefs(n, options.employees);
                const input = {
                  project: PROJECT,
                  compositeApp: 'app',
                  compositeProfile: 'prof',
                  name: `load-${r}-${n}`,
                  ...refs,
                  clusters: refs.clusters.slice(0, 2),
                };
                return { ...req, body: JSON.stringify({ query: WRITE, variables: { i: input } }) };
              }
              reads++;
              return { ...req, body: READ };
            },
            onResponse: (status, body) => {
              if (status === 200 && !body.includes('"errors"')) return;
              graphqlErrors++;
              firstError ??= `${status}: ${body.slice(0, 300)}`;
            },
          },
        ],
      }),
    );
    const results = await Promise.all(runs);
    const memoryAfter = await Promise.all(replicas.map((r) => r.stats()));
    const requests = results.reduce((s, x) => s + x.requests.total, 0);
    const seconds = Math.max(...results.map((x) => x.duration));
    const out: MixedResult = {
      seconds,
      connections: connections * replicas.length,
      requests,
      reads,
      writes,
      reqPerSec: Math.round((requests / seconds) * 10) / 10,
      // Across both replicas: the mean of their medians, the worst p99.
      p50Ms: Math.round((results.reduce((s, x) => s + x.latency.p50, 0) / results.length) * 10) / 10,
      p99Ms: Math.max(...results.map((x) => x.latency.p99)),
      // Non-2xx responses are counted by onResponse already.
      errors: graphqlErrors + results.reduce((s, x) => s + x.errors + x.timeouts, 0),
      firstError,
      memoryBefore,
      memoryAfter,
    };
    progress(
      `load/mariadb: ${out.reqPerSec} req/s, p50 ${out.p50Ms} ms, p99 ${out.p99Ms} ms, ${out.errors} errors${firstError ? ` (${firstError})` : ''}`,
    );
    return out;
  } finally {
    for (const r of replicas) await r.stop().catch(() => undefined);
    for (const s of stops) await s().catch((e) => progress(`load/mariadb: while stopping: ${(e as Error).message}`));
  }
}
