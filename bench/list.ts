import Database from 'better-sqlite3';
import { inParallel, parseBody, startBenchApp, type BenchApp } from './lib/app.js';
import { progress, type BenchOptions } from './lib/options.js';
import { openRaw, type Raw } from './lib/raw.js';
import { measureInterleaved, statementShapes, type Summary } from './lib/stats.js';
import { benchStores, type StoreKind } from './lib/stores.js';

/**
 * Issue 3, item 9: list N deployment groups with owner (remote reference), clusters and logical
 * cluster through the real HTTP endpoint; warm and cold remote_ref cache; against a hand-written
 * SQL floor and against the same subgraph with DataLoader batching off.
 */

export const LIST_QUERY = `query($p: String!, $n: Int!) { deploymentIntentGroups(project: $p, first: $n) {
  name owner { status entity { name email } } clusters { name labels } logicalCluster { name }
} }`;

export const PROJECT = 'bench';
const PROVIDERS = 4;
const CLUSTERS_PER_PROVIDER = 25;
const LOGICAL_CLUSTERS = 10;

export interface ListRow extends Partial<Summary> {
  store: StoreKind;
  case: string;
  medianMs: number;
  p95Ms: number;
  statements: number;
  remoteQueries: number;
  /** median / floor median of the same cache state. */
  xFloor?: number;
  /** no-loaders median / batched median of the same cache state. */
  xBatched?: number;
}

export interface ListResult {
  store: StoreKind;
  groups: number;
  employees: number;
  setupSeconds: number;
  floorMatchesWarm: boolean;
  floorMatchesCold: boolean;
  engineMatches: boolean;
  /** The statements of one operation, by shape. */
  statements: Record<string, { count: number; sql: string }[]>;
  rows: ListRow[];
}

interface GroupOut {
  name: string;
  owner: { status: string; entity: { name: string; email: string | null } | null } | null;
  clusters: { name: string; labels: string[] }[];
  logicalCluster: { name: string } | null;
}

/** The demo employees plus generated ones, so the groups have many distinct owners. */

const groupName = (i: number) => `g${String(i).padStart(4, '0')}`;
const clusterName = (i: number) => `c${String(i).padStart(2, '0')}`;

/** What group i refers to: deterministic, 2 or 3 distinct clusters. */
export function groupRefs(i: number, employees: number) {
  const total = PROVIDERS * CLUSTERS_PER_PROVIDER;
  const n = i % 3 === 0 ? 3 : 2;
  const picks = new Set<number>();
  for (let k = 0; picks.size < n; k++) picks.add((i * 7 + k * 31) % total);
  return {
    logicalCluster: `lc${i % LOGICAL_CLUSTERS}`,
    clusters: [...picks].map((c) => ({
      provider: `prov${Math.floor(c / CLUSTERS_PER_PROVIDER)}`,
      name: clusterName(c % CLUSTERS_PER_PROVIDER),
    })),
    owner: { employeeId: `e-${(i % employees) + 1}` },
  };
}

export async function createDomain(a: BenchApp, groups: number, employees: number, concurrency: number): Promise<void> {
  const engine = a.app.engine;
  await engine.create('Project', { name: PROJECT, description: 'list benchmark' });
  await engine.create('CompositeApp', { project: PROJECT, name: 'app' });
  await engine.create('CompositeProfile', { project: PROJECT, compositeApp: 'app', name: 'prof' });
  for (let i = 0; i < LOGICAL_CLUSTERS; i++) await engine.create('LogicalCluster', { project: PROJECT, name: `lc${i}` });
  const clusters: { provider: string; name: string; labels: string[] }[] = [];
  for (let p = 0; p < PROVIDERS; p++) {
    await engine.create('ClusterProvider', { name: `prov${p}` });
    for (let c = 0; c < CLUSTERS_PER_PROVIDER; c++) {
      clusters.push({ provider: `prov${p}`, name: clusterName(c), labels: [`env=${c % 2 ? 'prod' : 'test'}`, `zone=z${c % 3}`] });
    }
  }
  await inParallel(clusters, concurrency, (c) => engine.create('Cluster', c));
  const indexes = Array.from({ length: groups }, (_, i) => i);
  let done = 0;
  await inParallel(indexes, concurrency, async (i) => {
    await engine.create('DeploymentIntentGroup', {
      project: PROJECT,
      compositeApp: 'app',
      compositeProfile: 'prof',
      name: groupName(i),
      description: `group ${i} of the benchmark`,
      ...groupRefs(i, employees),
    });
    if (++done % 250 === 0) progress(`  created ${done}/${groups} groups`);
  });
}

function checkList(groups: number) {
  return (text: unknown) => {
    const data = parseBody<{ deploymentIntentGroups: GroupOut[] }>(text as string);
    const list = data.deploymentIntentGroups;
    if (list.length !== groups) throw new Error(`listed ${list.length} groups, expected ${groups}`);
    const bad = list.find((g) => g.owner?.status !== 'FRESH' || !g.owner.entity || g.clusters.length < 2 || !g.logicalCluster);
    if (bad) throw new Error(`unexpected group in the list: ${JSON.stringify(bad)}`);
  };
}

/**
 * The floor: one hand-written query through the driver returning the same data (groups joined with
 * their clusters, logical cluster and owner's cached entity), assembled into the same JSON; when
 * cached entities are missing, one query of the owners by key on the client store.
 */
function floorQuery(raw: Raw, clientDb: Database.Database) {
  const sql = `SELECT g.id AS gid, g.name AS gname, fc.path AS cpath, c.name AS cname, c.content AS ccontent, lc.name AS lcname,
      rr.cached_entity AS oentity, rr.deleted AS odeleted, rr.remote_key_payload AS okey
    FROM resource g
    LEFT JOIN resource_ref fc ON fc.from_id = g.id AND fc.path LIKE 'clusters[%'
    LEFT JOIN resource c ON c.id = fc.to_id
    LEFT JOIN resource_ref fl ON fl.from_id = g.id AND fl.path = 'logicalCluster'
    LEFT JOIN resource lc ON lc.id = fl.to_id
    LEFT JOIN remote_link l ON l.resource_id = g.id AND l.path = 'owner'
    LEFT JOIN remote_ref rr ON rr.id = l.remote_ref_id
    WHERE g.kind = 'DeploymentIntentGroup' AND g.natural_key LIKE ? ESCAPE '!'
    ORDER BY g.id`;
  const prefix = `${JSON.stringify([PROJECT]).slice(0, -1)},%`;
  interface Row {
    gid: string;
    gname: string;
    cpath: string | null;
    cname: string | null;
    ccontent: string | null;
    lcname: string | null;
    oentity: string | null;
    odeleted: number | null;
    okey: string | null;
  }
  return async (): Promise<{ text: string; remoteQueries: number }> => {
    const rows = await raw.all<Row>(sql, [prefix]);
    const groups = new Map<
      string,
      GroupOut & { cl: [number, { name: string; labels: string[] }][]; key: string | null; ent: string | null; del: boolean }
    >();
    for (const r of rows) {
      let g = groups.get(r.gid);
      if (!g) {
        g = {
          name: r.gname,
          owner: null,
          clusters: [],
          logicalCluster: r.lcname === null ? null : { name: r.lcname },
          cl: [],
          key: r.okey,
          ent: r.oentity,
          del: Number(r.odeleted) === 1,
        };
        groups.set(r.gid, g);
      }
      if (r.cpath && r.cname !== null) {
        const content = JSON.parse(r.ccontent ?? '{}') as { labels?: string[] };
        g.cl.push([Number(r.cpath.slice(r.cpath.indexOf('[') + 1, -1)), { name: r.cname, labels: content.labels ?? [] }]);
      }
    }
    // Cold: the owners whose cached entity is missing, in one query on the client store.
    const missing = [...groups.values()].filter((g) => g.key && g.ent === null && !g.del);
    let remoteQueries = 0;
    const fetched = new Map<string, string>();
    if (missing.length) {
      const keys = [...new Set(missing.map((g) => (JSON.parse(g.key!) as { employeeId: string }).employeeId))];
      remoteQueries++;
      const found = clientDb
        .prepare(
          `SELECT employee_id AS employeeId, name, email, department FROM employee WHERE employee_id IN (${keys.map(() => '?').join(', ')})`,
        )
        .all(...keys) as { employeeId: string }[];
      for (const e of found) fetched.set(e.employeeId, JSON.stringify(e));
    }
    const out: GroupOut[] = [];
    for (const g of groups.values()) {
      let owner: GroupOut['owner'] = null;
      if (g.key) {
        const text = g.ent ?? fetched.get((JSON.parse(g.key) as { employeeId: string }).employeeId) ?? null;
        const entity = text === null ? null : (JSON.parse(text) as { name: string; email: string | null });
        owner = { status: g.del ? 'DELETED' : entity ? 'FRESH' : 'MISSING', entity: entity && { name: entity.name, email: entity.email } };
      }
      out.push({
        name: g.name,
        owner,
        clusters: g.cl.sort((a, b) => a[0] - b[0]).map(([, c]) => c),
        logicalCluster: g.logicalCluster,
      });
    }
    return { text: JSON.stringify({ data: { deploymentIntentGroups: out } }), remoteQueries };
  };
}

/**
 * The subgraph's data layer alone: the same engine calls and loaders the resolvers make, in the
 * same order, without HTTP, Apollo Server or graphql-js; the same JSON out.
 */
function engineOnly(a: BenchApp, groups: number) {
  const engine = a.app.engine;
  return async (): Promise<string> => {
    const loaders = engine.loaders();
    const list = await engine.list('DeploymentIntentGroup', { first: groups }, { project: PROJECT }, loaders);
    const out = await Promise.all(
      list.map(async (g): Promise<GroupOut> => {
        const [refs, owner] = await Promise.all([
          loaders.referencesOut.load(g.id),
          loaders.remoteLink.load({ resourceId: g.id, path: 'owner' }),
        ]);
        const index = (path: string) => Number(/^clusters\[(\d+)\]$/.exec(path)?.[1] ?? -1);
        const clusterRefs = refs.filter((r) => index(r.path) >= 0).sort((x, y) => index(x.path) - index(y.path));
        const lcRef = refs.find((r) => r.path === 'logicalCluster');
        const [clusters, lc] = await Promise.all([
          loaders.resource.loadMany(clusterRefs.map((r) => r.toId)),
          lcRef ? loaders.resource.load(lcRef.toId) : Promise.resolve(null),
        ]);
        return {
          name: String(g.content.name),
          owner: owner && {
            status: owner.status,
            entity: owner.entity && { name: owner.entity.name as string, email: (owner.entity.email as string | null) ?? null },
          },
          clusters: clusters
            .filter((c): c is NonNullable<typeof c> & { content: Record<string, unknown> } => !!c && !(c instanceof Error))
            .map((c) => ({ name: String(c.content.name), labels: (c.content.labels as string[] | undefined) ?? [] })),
          logicalCluster: lc && { name: String(lc.content.name) },
        };
      }),
    );
    return JSON.stringify({ data: { deploymentIntentGroups: out } });
  };
}

export async function runListBench(store: StoreKind, options: BenchOptions): Promise<ListResult> {
  const groups = Math.min(options.groups, 1000);
  progress(`list/${store}: setting up ${groups} groups, ${options.employees} employees`);
  const setupStart = performance.now();
  const { op, client, stops } = await benchStores(store, options);
  try {
    const batched = await startBenchApp(op.url, client.url, { REMOTE_RETRIES: '0' });
    stops.unshift(() => batched.stop());
    await createDomain(batched, groups, options.employees, options.createConcurrency[store]);
    // The N+1 baseline: a second instance of the same subgraph on the same stores, loaders unbatched.
    const naive = await startBenchApp(op.url, client.url, { REMOTE_RETRIES: '0', DATALOADER_BATCHING: 'false' });
    stops.unshift(() => naive.stop());
    const raw = await openRaw(op.url);
    stops.unshift(() => raw.close());
    const clientDb = new Database(client.url.slice('sqlite:'.length), { readonly: true, fileMustExist: true });
    stops.unshift(async () => clientDb.close());
    const setupSeconds = Math.round((performance.now() - setupStart) / 100) / 10;
    progress(`list/${store}: set up in ${setupSeconds} s`);

    const vars = { p: PROJECT, n: groups };
    const evict = async () => void (await batched.app.db.execute('UPDATE remote_ref SET cached_entity = NULL'));
    const check = checkList(groups);
    const floor = floorQuery(raw, clientDb);

    // The floor returns exactly what the subgraph returns, warm and cold.
    const sameAs = async (cold: boolean) => {
      if (cold) await evict();
      const f = JSON.parse((await floor()).text) as unknown;
      const g = JSON.parse(await batched.post(LIST_QUERY, vars)) as unknown;
      const same = JSON.stringify(f) === JSON.stringify(g);
      if (!same) progress(`list/${store}: WARNING the floor's ${cold ? 'cold' : 'warm'} result differs from the subgraph's`);
      return same;
    };
    const floorMatchesCold = await sameAs(true);
    const floorMatchesWarm = await sameAs(false);
    const engineRun = engineOnly(batched, groups);
    const engineMatches = (await engineRun()) === JSON.stringify(JSON.parse(await batched.post(LIST_QUERY, vars)));
    if (!engineMatches) progress(`list/${store}: WARNING the engine-only result differs from the subgraph's`);

    const rows: ListRow[] = [];
    // One iteration of each case per round, in an order where every warm case follows one that
    // refilled the cache (the subgraph's cold runs write it back; the cold floor does not).
    const subgraph = (a: BenchApp) => ({
      op: () => a.post(LIST_QUERY, vars),
      check,
      statementLog: a.app.db.statementLog,
      source: a.source,
    });
    const cases = [
      { label: 'cold', spec: { ...subgraph(batched), before: evict } },
      { label: 'warm', spec: subgraph(batched) },
      { label: 'no-loaders warm', spec: subgraph(naive) },
      { label: 'engine', spec: { op: engineRun, statementLog: batched.app.db.statementLog, source: batched.source } },
      { label: 'floor warm', spec: { op: floor, fixedStatements: 1, fixedRemoteQueries: 0 } },
      {
        label: 'floor cold',
        spec: {
          before: evict,
          op: floor,
          check: (r: unknown) => {
            if ((r as { remoteQueries: number }).remoteQueries !== 1) throw new Error('the cold floor did not query the client store');
          },
          fixedStatements: 1,
          fixedRemoteQueries: 1,
        },
      },
      { label: 'no-loaders cold', spec: { ...subgraph(naive), before: evict } },
    ];
    progress(`list/${store}: ${cases.length} cases in ${options.warmup} warm-up + ${options.iterations} measured rounds`);
    const m = await measureInterleaved(cases, { warmup: options.warmup, iterations: options.iterations }, (r) => {
      if ((r + 1) % 5 === 0) progress(`list/${store}:   round ${r + 1}/${options.warmup + options.iterations}`);
    });
    for (const [label, s] of m) {
      progress(
        `list/${store}: ${label}: median ${s.medianMs} ms, p95 ${s.p95Ms} ms, ${s.statements} statements, ${s.remoteQueries} remote queries`,
      );
    }
    const [warm, cold, naiveWarm, naiveCold, engineWarm, floorWarm, floorCold] = [
      'warm',
      'cold',
      'no-loaders warm',
      'no-loaders cold',
      'engine',
      'floor warm',
      'floor cold',
    ].map((l) => m.get(l)!);
    for (const [label, s] of [
      ['warm', warm],
      ['no-loaders warm', naiveWarm],
      ['engine', engineWarm],
    ] as const) {
      if (s.remoteQueries !== 0) progress(`list/${store}: WARNING the ${label} case sent remote queries: the cache was not full`);
    }
    await batched.post(LIST_QUERY, vars);

    const statements = {
      warm: await statementShapes(batched.app.db.statementLog, () => batched.post(LIST_QUERY, vars)),
      cold: await (async () => {
        await evict();
        return statementShapes(batched.app.db.statementLog, () => batched.post(LIST_QUERY, vars));
      })(),
      'no-loaders warm': await statementShapes(naive.app.db.statementLog, () => naive.post(LIST_QUERY, vars)),
    };

    const row = (name: string, s: Summary, floorOf: Summary, batchedOf?: Summary): ListRow => ({
      store,
      case: name,
      ...s,
      xFloor: s.medianMs / floorOf.medianMs,
      xBatched: batchedOf ? s.medianMs / batchedOf.medianMs : undefined,
    });
    rows.push(
      row('warm', warm, floorWarm),
      row('cold', cold, floorCold),
      row('no-loaders warm', naiveWarm, floorWarm, warm),
      row('no-loaders cold', naiveCold, floorCold, cold),
      row('engine + loaders only, warm (no HTTP, no GraphQL)', engineWarm, floorWarm),
      row('floor warm (1 SQL query)', floorWarm, floorWarm),
      row('floor cold (1 SQL + 1 remote query)', floorCold, floorCold),
    );
    return {
      store,
      groups,
      employees: options.employees,
      setupSeconds,
      floorMatchesWarm,
      floorMatchesCold,
      engineMatches,
      statements,
      rows,
    };
  } finally {
    for (const stop of stops) await stop().catch((e) => progress(`list/${store}: while stopping: ${(e as Error).message}`));
  }
}
