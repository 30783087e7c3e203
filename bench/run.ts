/**
 * `npm run bench`: the list benchmark (issue 3), the approval-closure benchmark (issue 5), the
 * garbage-collection benchmark (issue 4), the change-feed burst (issue 9), and the federation-peer
 * comparison, writes and mixed load (issue 13), on SQLite and, when BENCH_MYSQL_URL is set, on MariaDB.
 * Markdown tables on stdout, progress on stderr, figures in bench/results/. See bench/README.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { format } from 'node:util';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { runApprovalBench, type ApprovalResult } from './approval.js';
import { runConsoleBench, type ConsoleResult } from './console.js';
import { FEED_KEYS, runFeedBench, type FeedResult } from './feed.js';
import { runCompareBench, type CompareResult } from './compare.js';
import { runGcBench, type GcResult } from './gc.js';
import { runWritesBench, type WritesResult } from './writes.js';
import { runMixedBench, type MixedResult } from './mixed.js';
import { fmt, ratio, table } from './lib/markdown.js';
import { benchOptions, progress } from './lib/options.js';
import type { StoreKind } from './lib/stores.js';
import { runListBench, type ListResult } from './list.js';

// Libraries that print (Apollo's "Enabling inline tracing…") go to stderr: stdout carries the tables.
console.log = console.info = console.warn = (...args: unknown[]) => void process.stderr.write(`${format(...args)}\n`);

const options = benchOptions();
const stores: StoreKind[] = options.mysqlUrl ? ['sqlite', 'mariadb'] : ['sqlite'];
const startedAt = new Date();
const loadBefore = loadavg();
progress(`stores: ${stores.join(', ')}; benchmarks: ${[...options.only].join(', ')}; BENCH_SCALE=${options.scale}`);

const list: ListResult[] = [];
const approval: ApprovalResult[] = [];
const gc: GcResult[] = [];
const feed: FeedResult[] = [];
const compare: CompareResult[] = [];
const writes: WritesResult[] = [];
const mixed: MixedResult[] = [];
const consoleRuns: ConsoleResult[] = [];
const errors: { benchmark: string; store: StoreKind; error: string }[] = [];

async function attempt<T>(benchmark: string, store: StoreKind, fn: () => Promise<T>, into: T[]): Promise<void> {
  try {
    into.push(await fn());
  } catch (e) {
    const error = e instanceof Error ? (e.stack ?? e.message) : String(e);
    progress(`${benchmark}/${store} FAILED: ${error}`);
    errors.push({ benchmark, store, error: e instanceof Error ? e.message : String(e) });
  }
}

if (options.only.has('list')) for (const s of stores) await attempt('list', s, () => runListBench(s, options), list);
if (options.only.has('compare')) for (const s of stores) await attempt('compare', s, () => runCompareBench(s, options), compare);
if (options.only.has('writes')) for (const s of stores) await attempt('writes', s, () => runWritesBench(s, options), writes);
if (options.only.has('load') && options.mysqlUrl) await attempt('load', 'mariadb', () => runMixedBench(options), mixed);
if (options.only.has('approval')) for (const s of stores) await attempt('approval', s, () => runApprovalBench(s, options), approval);
// GC at a tenth of the size first, then at full size: the growth ratio says whether it stays linear.
const gcSmall: GcResult[] = [];
if (options.only.has('gc')) {
  for (const s of stores) {
    await attempt('gc (small)', s, () => runGcBench(s, { ...options, scale: options.scale / 10 }), gcSmall);
    await attempt('gc', s, () => runGcBench(s, options), gc);
  }
}
if (options.only.has('feed')) for (const s of stores) await attempt('feed', s, () => runFeedBench(s, options), feed);
if (options.only.has('console')) for (const s of stores) await attempt('console', s, () => runConsoleBench(s, options), consoleRuns);

// ---- tables ----
const ms = (n: number | undefined) => fmt(n, n !== undefined && n >= 100 ? 0 : n !== undefined && n >= 10 ? 1 : 2);
const sections: string[] = [];
const date = startedAt.toISOString();

if (compare.length) {
  const rows = compare.flatMap((r) =>
    r.rows.map((x) => [
      r.store,
      x.case,
      x.what,
      ms(x.medianMs),
      ms(x.p95Ms),
      x.statements,
      x.fetches,
      ms(x.subgraphCpuMs),
      ms(x.gatewayCpuMs ?? undefined),
    ]),
  );
  const ratios = compare.map((r) => [
    r.store,
    ratio(r.bOverA, 1),
    fmt(r.throughput.A.reqPerSec, 1),
    fmt(r.throughput.B.reqPerSec, 1),
    ratio(r.throughputAOverB, 1),
    `${fmt(r.throughput.A.p50Ms, 0)} / ${fmt(r.throughput.A.p99Ms, 0)}`,
    `${fmt(r.throughput.B.p50Ms, 0)} / ${fmt(r.throughput.B.p99Ms, 0)}`,
    r.throughput.A.errors + r.throughput.B.errors,
    ratio(r.cpuCOverD, 1),
  ]);
  const c = compare[0];
  sections.push(
    [
      `### This subgraph against the federation peer, through the same gateway (issue 13)`,
      '',
      `\`deploymentIntentGroups(project, first: ${c.groups}) { name owner { status entity { name email } } clusters { name } logicalCluster { name } }\`; ` +
        `${c.groups} groups with 2–3 clusters, a logical cluster and an owner among ${c.employees} employees; ${c.rounds} rounds after ${c.warmup} warm-ups, one request of each case per round. ` +
        `Every server is a process of its own; *subgraph CPU* is the CPU time of the subgraph processes behind the case per request, *gateway CPU* the gateway's, both over a block of ${c.rounds} requests of that case alone after the latency rounds (so work a server does after it answered is charged to its own case). ` +
        `Statements: SQL statements the subgraphs sent (for B: the groups query and the employees query on the client store). D answers \`entity { employeeId }\` (owner ids only).`,
      '',
      table(
        [
          'store',
          'case',
          'what',
          'median ms',
          'p95 ms',
          'statements/req',
          'subgraph fetches/req',
          'subgraph CPU ms/req',
          'gateway CPU ms/req',
        ],
        rows,
      ),
      '',
      `Ratios, and throughput through the gateway (autocannon, ${c.throughput.connections} connections, ${c.throughput.secondsPerSide} s per side in the order A B B A):`,
      '',
      table(
        [
          'store',
          'B/A median latency',
          'A req/s',
          'B req/s',
          'A/B throughput',
          'A p50 / p99 ms',
          'B p50 / p99 ms',
          'errors',
          'C/D subgraph CPU',
        ],
        ratios,
      ),
      ...compare.filter((r) => !r.sameResponse).map((r) => `\n⚠ ${r.store}: A, B and C did not return the same response.`),
      '',
      `Other query shapes through the same two gateways (${c.rounds} rounds after ${c.warmup} warm-ups each; autocannon, 10 connections, A B B A with half the seconds per side):`,
      '',
      table(
        [
          'store',
          'shape',
          'A median ms',
          'B median ms',
          'B/A median latency',
          'A req/s',
          'B req/s',
          'A/B throughput',
          'fetches A / B',
          'errors',
        ],
        compare.flatMap((r) =>
          r.shapes.map((x) => [
            r.store,
            x.sameResponse ? x.name : `${x.name} ⚠ answers differ`,
            ms(x.aMedianMs),
            ms(x.bMedianMs),
            ratio(x.bOverA, 1),
            fmt(x.aReqPerSec, 1),
            fmt(x.bReqPerSec, 1),
            ratio(x.throughputAOverB, 1),
            `${x.aFetches} / ${x.bFetches}`,
            x.errors,
          ]),
        ),
      ),
    ].join('\n'),
  );
}

if (writes.length) {
  sections.push(
    [
      `### ${writes[0].creates.toLocaleString('en')} creates of groups with three references and an owner (issue 13)`,
      '',
      'One `engine.create` at a time (validation, target locks, marked-target refusal, natural-key check, history, reference index, remote link) ' +
        'against plain inserts of the same rows through the driver (one transaction per group: resource, resource_history, 4 resource_ref rows, remote_link), no checks.',
      '',
      table(
        ['store', 'case', 'creates', 'seconds', 'ms/create', 'creates/s', 'statements/create', 'overhead'],
        writes.flatMap((w) => [
          [
            w.store,
            'engine.create',
            w.creates,
            fmt(w.engine.seconds, 1),
            fmt(w.engine.perCreateMs, 2),
            fmt(w.engine.perSecond, 0),
            fmt(w.engine.statementsPerCreate, 1),
            ratio(w.overhead, 1),
          ],
          [
            w.store,
            'plain inserts',
            w.creates,
            fmt(w.plain.seconds, 1),
            fmt(w.plain.perCreateMs, 2),
            fmt(w.plain.perSecond, 0),
            fmt(w.plain.statementsPerCreate, 1),
            ratio(1, 1),
          ],
        ]),
      ),
    ].join('\n'),
  );
}

if (mixed.length) {
  const m = mixed[0];
  const mem = (xs: { rssMb: number; heapMb: number }[]) => xs.map((x) => `${fmt(x.rssMb, 0)} / ${fmt(x.heapMb, 0)}`).join(', ');
  sections.push(
    [
      `### Mixed load on two replicas, one MariaDB (issue 13)`,
      '',
      `Two processes of this subgraph on one MariaDB database (1,000 groups to start with); autocannon for ${m.seconds} s with ${m.connections} connections (half on each replica). ` +
        'Reads: `deploymentIntentGroups(project, first: 100)` with owners, clusters and logical cluster; every 10th request a `createDeploymentIntentGroup` with three references and an owner. ' +
        'An HTTP error or a GraphQL error in the body counts as an error. Memory: RSS / heap MB of each replica.',
      '',
      table(
        ['requests', 'reads', 'writes', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'memory before (MB)', 'memory after (MB)'],
        [
          [
            m.requests,
            m.reads,
            m.writes,
            fmt(m.reqPerSec, 1),
            fmt(m.p50Ms, 0),
            fmt(m.p99Ms, 0),
            m.errors,
            mem(m.memoryBefore),
            mem(m.memoryAfter),
          ],
        ],
      ),
      ...(m.firstError ? [`\n⚠ first error: ${m.firstError}`] : []),
    ].join('\n'),
  );
}

if (list.length) {
  const rows = list.flatMap((r) =>
    r.rows.map((x) => [
      r.store,
      x.case,
      x.statements,
      x.remoteQueries,
      ms(x.medianMs),
      ms(x.p95Ms),
      ratio(x.xFloor, 1),
      x.xBatched === undefined ? null : ratio(x.xBatched, 1),
      ms(x.cpuMs),
    ]),
  );
  sections.push(
    [
      `### Listing ${list[0].groups} deployment groups (issue 3)`,
      '',
      `\`deploymentIntentGroups(first: ${list[0].groups}) { name owner { status entity { name email } } clusters { name labels } logicalCluster { name } }\` over HTTP; ` +
        `${list[0].employees} distinct owners in a SQLite client store; ${options.iterations} iterations after ${options.warmup} warm-ups. ` +
        `Cold = every \`remote_ref.cached_entity\` set to NULL before each iteration. ` +
        `×floor = median / the floor's median (same cache state); ×batched = no-loaders median / batched median; CPU ms/op = this process (client, subgraph and, on SQLite, the database).`,
      '',
      table(['store', 'case', 'statements/op', 'remote queries/op', 'median ms', 'p95 ms', '×floor', '×batched', 'CPU ms/op'], rows),
      ...list
        .filter((r) => !r.floorMatchesWarm || !r.floorMatchesCold || !r.engineMatches)
        .map((r) => `\n⚠ ${r.store}: the floor's or the engine-only result differs from the subgraph's.`),
    ].join('\n'),
  );
}

if (approval.length) {
  const rows = approval.flatMap((r) =>
    r.rows.map((x) => [
      r.store,
      x.case,
      x.closure,
      x.statements,
      x.remoteQueries,
      ms(x.medianMs),
      ms(x.p95Ms),
      x.xFloor === undefined ? null : ratio(x.xFloor, 1),
      ms(x.cpuMs),
    ]),
  );
  sections.push(
    [
      `### Approving a group whose closure holds ${approval[0].closure} resources (issue 5)`,
      '',
      'The group, its profile, app and project, its logical cluster and clusters under 5 providers; one remote owner snapshot. ' +
        'Each approval replaces the one in force. The read asks for every pin with its content and remote snapshots, and `stale`.',
      '',
      table(['store', 'case', 'closure', 'statements/op', 'remote queries/op', 'median ms', 'p95 ms', '×floor', 'CPU ms/op'], rows),
    ].join('\n'),
  );
}

if (gc.length) {
  const rows = gc.flatMap((r) =>
    r.cases.map((c) => {
      const main = c.case === 'collectGarbage(false)';
      return [
        r.store,
        c.case,
        c.rows,
        main ? r.run.blockedRemaining : null,
        ms(c.timeMs),
        c.statements,
        main ? fmt(r.run.statementsPerDeleted, 3) : null,
        main ? r.run.batches : null,
        c.memory ? fmt(c.memory.rssDeltaMb, 1) : null,
        c.memory ? fmt(c.memory.heapDeltaMb, 1) : null,
        ratio(c.xFloor, 1),
      ];
    }),
  );
  const phases = gc.flatMap((r) => r.run.phases.map((p) => [r.store, p.phase, ms(p.ms), p.statements]));
  const g = gc[0];
  sections.push(
    [
      `### Garbage collection of ${g.plan.resources.toLocaleString('en')} resources, ${((100 * g.plan.marked) / g.plan.resources).toFixed(0)}% marked (issue 4)`,
      '',
      `${g.plan.providers} providers × 50 clusters and ${g.plan.projects} projects × (4 logical clusters, 5 apps × 2 profiles × 4 groups); ` +
        `${g.plan.references.toLocaleString('en')} references, ${g.plan.remoteLinks.toLocaleString('en')} owner links. Marked: every 10th project and provider subtree ` +
        `(${g.plan.marked.toLocaleString('en')}), of which ${g.plan.blocked} stay blocked by references from unmarked groups. ` +
        `"rows" is resources deleted (or read); memory is the collector process's peak over its baseline.`,
      '',
      table(
        [
          'store',
          'case',
          'rows',
          'blocked',
          'time ms',
          'statements',
          'statements/deleted',
          'batches',
          'peak RSS Δ MB',
          'peak heap Δ MB',
          '×floor',
        ],
        rows,
      ),
      '',
      "Where the collection's time goes:",
      '',
      table(['store', 'phase', 'ms', 'statements'], phases),
      ...[...gcSmall, ...gc].flatMap((r) =>
        r.checks.filter((c) => !c.ok).map((c) => `\n⚠ ${r.store} (${r.plan.resources}): check failed: ${c.name} (${c.detail})`),
      ),
      '',
      'Growth: the same collection at a tenth of the size, and at full size (growth = ms per deleted resource at full size / at a tenth; 1.00× is linear):',
      '',
      table(
        ['store', 'resources', 'deleted', 'time ms', 'ms per 1,000 deleted', 'statements', 'peak heap Δ MB', 'growth'],
        gc.flatMap((big) => {
          const small = gcSmall.find((x) => x.store === big.store);
          const per = (r: GcResult) => r.run.timeMs / r.run.deleted;
          return [
            ...(small
              ? [
                  [
                    small.store,
                    small.plan.resources,
                    small.run.deleted,
                    ms(small.run.timeMs),
                    fmt(1000 * per(small), 1),
                    small.run.statements,
                    fmt(small.run.memory.heapDeltaMb, 1),
                    ratio(1, 1),
                  ],
                ]
              : []),
            [
              big.store,
              big.plan.resources,
              big.run.deleted,
              ms(big.run.timeMs),
              fmt(1000 * per(big), 1),
              big.run.statements,
              fmt(big.run.memory.heapDeltaMb, 1),
              small ? ratio(per(big), per(small)) : null,
            ],
          ];
        }),
      ),
    ].join('\n'),
  );
}

if (feed.length) {
  const rows = feed.flatMap((r) =>
    r.rows.map((x) => [
      r.store,
      x.case,
      x.events,
      fmt(x.eventsPerSecond, 0),
      ms(x.convergedMs),
      ms(x.drainedMs),
      x.publishPerSecond === undefined ? null : fmt(x.publishPerSecond, 0),
      ratio(x.xFloor, 1),
    ]),
  );
  sections.push(
    [
      `### A burst of ${(FEED_KEYS * 5).toLocaleString('en')} change events against ${FEED_KEYS.toLocaleString('en')} cached keys (issue 9)`,
      '',
      'Five versions per key published out of source order (v3, v1, v5, v2, v4) as fast as the producer can, consumed by one replica ' +
        '(batches of 100, compare-and-set on the source position). "converged" = from the first publish until every row holds its v5; ' +
        '"drained" = until the broker has every event acknowledged. ×floor = the floor\'s events/s ÷ this case\'s.',
      '',
      table(['store', 'case', 'events', 'events/s', 'converged ms', 'drained ms', 'published/s', '×floor'], rows),
    ].join('\n'),
  );
}

if (consoleRuns.length) {
  const { bundle } = consoleRuns[0];
  sections.push(
    [
      '### The integrity console: first render on the demo data (issue 19)',
      '',
      "Headless Chromium (the tests' browser), a fresh context per sample (nothing cached): from navigation start until the view shows " +
        `what it loaded (the overview's counts; the resource page's neighbourhood picture). Bundle: ${bundle.files} files, ` +
        `${fmt(bundle.bytes / 1024, 1)} KiB, ${fmt(bundle.gzipBytes / 1024, 1)} KiB gzipped.`,
      '',
      table(
        ['store', 'view', 'median ms', 'p95 ms', 'samples'],
        consoleRuns.flatMap((r) => r.rows.map((x) => [r.store, x.view, ms(x.medianMs), ms(x.p95Ms), x.samples])),
      ),
    ].join('\n'),
  );
}

const header = [
  `Run ${date} on ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; ` +
    `load average ${loadBefore.map((l) => l.toFixed(1)).join(' / ')} at the start, ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ')} at the end. ` +
    `Stores: ${stores.join(', ')}; BENCH_SCALE=${options.scale}.`,
];
if (errors.length) header.push('', ...errors.map((e) => `⚠ ${e.benchmark} on ${e.store} failed: ${e.error}`));
const markdown = `${header.join('\n')}\n\n${sections.join('\n\n')}\n`;
process.stdout.write(markdown);

// ---- results ----
const results = {
  startedAt: date,
  finishedAt: new Date().toISOString(),
  host: {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadBefore,
    loadAfter: loadavg(),
  },
  settings: {
    ...options,
    only: [...options.only],
    mysqlUrl: options.mysqlUrl ? options.mysqlUrl.replace(/\/\/[^@]*@/, '//…@') : undefined,
    stores,
  },
  compare,
  writes,
  mixed,
  list,
  approval,
  gc,
  feed,
  console: consoleRuns,
  gcSmall,
  errors,
};
// BENCH_RESULTS_DIR: a smoke run (test/bench-smoke.test.ts) must not overwrite the recorded results.
const dir = process.env.BENCH_RESULTS_DIR
  ? `${resolve(process.env.BENCH_RESULTS_DIR)}/`
  : fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
const stamp = date.slice(0, 19).replace(/:/g, '').replace('T', '-');
const file = `${dir}${stamp}-${stores.join('+')}.json`;
const json = `${JSON.stringify(results, null, 2)}\n`;
writeFileSync(file, json);
writeFileSync(`${dir}latest.json`, json);
writeFileSync(`${dir}latest.md`, markdown);
progress(`wrote ${file}, ${dir}latest.json and ${dir}latest.md`);
if (errors.length) process.exitCode = 1;
