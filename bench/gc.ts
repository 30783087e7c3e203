import { spawn } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Db } from '../src/data/db.js';
import type { MemoryPeak } from './lib/memory.js';
import { progress, type BenchOptions } from './lib/options.js';
import { openRaw, type Raw } from './lib/raw.js';
import { median, round } from './lib/stats.js';
import { benchStores, tempMysql, tempSqlite, type StoreKind, type TempStore } from './lib/stores.js';
import type { ChildResult, CollectRun } from './gc-child.js';
import { generateGcData, type GcDataPlan } from './gc-data.js';

/**
 * Issue 4, item 7: 100,000 resources (× BENCH_SCALE) with ~10% marked, some of them blocked by
 * references from unmarked resources; one collectGarbage(false) run (after a dry run), with its
 * time, statements, batches and the process's memory peak, against floors that check nothing.
 * The collector runs in a child process (bench/gc-child.ts), so its RSS is its own.
 */

export interface GcCase {
  store: StoreKind;
  case: string;
  timeMs: number;
  statements?: number;
  rows?: number;
  memory?: MemoryPeak;
  /** time / raw-delete floor time. */
  xFloor?: number;
}

export interface GcResult {
  store: StoreKind;
  scale: number;
  plan: GcDataPlan;
  generateSeconds: number;
  run: Omit<CollectRun, 'ids'> & { timeMs: number; deleted: number; blockedRemaining: number; statementsPerDeleted: number };
  dryRun: Omit<CollectRun, 'ids'> & { timeMs: number; candidates: number };
  floors: {
    readCandidateIdsMs: number;
    candidateIds: number;
    rawDeleteMs: number;
    rawDeleteStatements: number;
    loadAll: { timeMs: number; rows: number; memory: MemoryPeak };
  };
  checks: { name: string; ok: boolean; detail: string }[];
  cases: GcCase[];
}

const countOf = async (raw: Raw, sql: string, params: unknown[] = []) => Number((await raw.all<{ n: number | string }>(sql, params))[0].n);

const CHILD = fileURLToPath(new URL('./gc-child.ts', import.meta.url));

function runChild(args: string[]): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('@@RESULT@@ '));
      if (code !== 0 || !line) reject(new Error(`bench/gc-child.ts ${args[0]} exited with ${code}`));
      else resolve(JSON.parse(line.slice('@@RESULT@@ '.length)) as ChildResult);
    });
  });
}

/** Copies the tables a deletion touches, deletes the rows with one DELETE … IN (…) per table and chunk, commits. */
async function rawDeleteFloor(
  raw: Raw,
  url: string,
  ids: readonly string[],
  options: BenchOptions,
): Promise<{ ms: number; statements: number }> {
  const tables: [string, string][] = [
    ['remote_link', 'resource_id'],
    ['resource_ref', 'from_id'],
    ['resource_history', 'resource_id'],
    ['resource', 'id'],
  ];
  let copy: TempStore;
  if (raw.kind === 'sqlite') {
    await raw.all('PRAGMA wal_checkpoint(TRUNCATE)');
    copy = tempSqlite('floor.sqlite');
    copyFileSync(url.slice('sqlite:'.length), copy.url.slice('sqlite:'.length));
  } else {
    copy = await tempMysql(options.mysqlUrl!, 'bench_floor');
    const target = new URL(copy.url).pathname.slice(1);
    for (const [table] of tables) {
      await raw.run(`CREATE TABLE \`${target}\`.${table} LIKE ${table}`);
      await raw.run(`INSERT INTO \`${target}\`.${table} SELECT * FROM ${table}`);
    }
  }
  const floor = await openRaw(copy.url);
  try {
    const mysql = floor.kind === 'mysql';
    await floor.run(mysql ? 'SET FOREIGN_KEY_CHECKS = 0' : 'PRAGMA foreign_keys = OFF');
    let statements = 0;
    const t0 = performance.now();
    await floor.run(mysql ? 'START TRANSACTION' : 'BEGIN');
    const CHUNK = 5000;
    for (let i = 0; i < ids.length; i += CHUNK) {
      const c = ids.slice(i, i + CHUNK);
      const ph = c.map(() => '?').join(', ');
      for (const [table, col] of tables) {
        await floor.run(`DELETE FROM ${table} WHERE ${col} IN (${ph})`, c);
        statements++;
      }
    }
    await floor.run('COMMIT');
    return { ms: round(performance.now() - t0), statements };
  } finally {
    await floor.close();
    await copy.drop();
  }
}

const sameSet = (a: readonly string[], b: readonly string[]) => {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
};

export async function runGcBench(store: StoreKind, options: BenchOptions): Promise<GcResult> {
  const total = Math.round(100_000 * options.scale);
  progress(`gc/${store}: generating ~${total} resources (BENCH_SCALE=${options.scale})`);
  const { op, client, stops } = await benchStores(store, options);
  try {
    const db = await Db.open({ url: op.url });
    let now: string;
    try {
      await db.migrate();
      now = await db.now();
    } finally {
      await db.close();
    }
    const raw = await openRaw(op.url);
    stops.unshift(() => raw.close());

    const g0 = performance.now();
    const { plan, collectableIds } = await generateGcData(raw, total, now, (m) => progress(`gc/${store}:${m}`));
    const generateSeconds = round((performance.now() - g0) / 1000, 1);
    progress(
      `gc/${store}: generated ${plan.resources} resources, ${plan.references} references in ${generateSeconds} s; ` +
        `${plan.marked} marked (${((100 * plan.marked) / plan.resources).toFixed(1)}%), ${plan.blocked} of them blocked`,
    );

    // Floor: just reading the ids of the marked, due resources.
    const readTimes: number[] = [];
    let candidateIds = 0;
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      candidateIds = (await raw.all(`SELECT id FROM resource WHERE status = 'MARKED_FOR_DELETION' AND delete_after <= ?`, [now])).length;
      readTimes.push(performance.now() - t);
    }
    const readCandidateIdsMs = round(median(readTimes));

    // Floor: raw deletion of exactly the collectable rows, no checks, no archive, foreign keys off,
    // committed, on a copy of the store (the collector then runs on the original).
    progress(`gc/${store}: floor: raw DELETE … WHERE id IN (…) of the ${collectableIds.length} collectable resources, on a copy`);
    const { ms: rawDeleteMs, statements: rawDeleteStatements } = await rawDeleteFloor(raw, op.url, collectableIds, options);
    progress(`gc/${store}: raw delete: ${rawDeleteMs} ms`);

    progress(`gc/${store}: reference: holding all ${plan.resources} resources in memory (child process)`);
    const { loadAll } = await runChild(['load-all', op.url]);
    progress(`gc/${store}: collectGarbage(true), then collectGarbage(false) (child process)`);
    const { dryRun, run } = await runChild(['collect', op.url, client.url]);
    if (!dryRun || !run || !loadAll) throw new Error('the GC child process returned no figures');
    progress(`gc/${store}: dry run: ${dryRun.ids.length} collectable in ${dryRun.memory.ms} ms, ${dryRun.statements} statements`);
    progress(`gc/${store}: run: deleted ${run.ids.length} in ${run.memory.ms} ms, ${run.statements} statements, ${run.batches} batches`);

    // What a correct run leaves.
    const blockedRemaining = await countOf(raw, `SELECT COUNT(*) AS n FROM resource WHERE status = 'MARKED_FOR_DELETION'`);
    const dangling = await countOf(
      raw,
      `SELECT COUNT(*) AS n FROM resource_ref f LEFT JOIN resource r ON r.id = f.to_id WHERE r.id IS NULL`,
    );
    const archivedRows = await countOf(raw, `SELECT COUNT(*) AS n FROM archive`);
    const checks = [
      {
        name: 'deleted = the collectable set',
        ok: sameSet(run.ids, collectableIds),
        detail: `${run.ids.length} vs ${collectableIds.length}`,
      },
      { name: 'dry run = run', ok: sameSet(dryRun.ids, run.ids), detail: `${dryRun.ids.length} vs ${run.ids.length}` },
      { name: 'marked left = blocked', ok: blockedRemaining === plan.blocked, detail: `${blockedRemaining} vs ${plan.blocked}` },
      { name: 'no reference to a missing resource', ok: dangling === 0, detail: `${dangling}` },
      {
        name: 'archive rows = archived',
        ok: archivedRows === run.archived,
        detail: `${archivedRows} vs ${run.archived} (${run.ids.length - run.archived} personal, not archived)`,
      },
      {
        name: 'orphan remote_ref rows deleted',
        ok: run.orphanRemoteRefsDeleted === plan.orphanRemoteRefs,
        detail: `${run.orphanRemoteRefsDeleted} vs ${plan.orphanRemoteRefs}`,
      },
    ];
    for (const c of checks) if (!c.ok) progress(`gc/${store}: CHECK FAILED: ${c.name}: ${c.detail}`);

    const { ids: runIds, ...runRest } = run;
    const { ids: dryIds, ...dryRest } = dryRun;
    const cases: GcCase[] = [
      {
        store,
        case: 'collectGarbage(false)',
        timeMs: run.memory.ms,
        statements: run.statements,
        rows: runIds.length,
        memory: run.memory,
        xFloor: run.memory.ms / rawDeleteMs,
      },
      {
        store,
        case: 'collectGarbage(true) (dry run)',
        timeMs: dryRun.memory.ms,
        statements: dryRun.statements,
        rows: dryIds.length,
        memory: dryRun.memory,
        xFloor: dryRun.memory.ms / rawDeleteMs,
      },
      {
        store,
        case: 'floor: raw DELETE … IN (…), no checks',
        timeMs: rawDeleteMs,
        statements: rawDeleteStatements,
        rows: collectableIds.length,
        xFloor: 1,
      },
      {
        store,
        case: 'floor: read the candidate ids',
        timeMs: readCandidateIdsMs,
        statements: 1,
        rows: candidateIds,
        xFloor: readCandidateIdsMs / rawDeleteMs,
      },
      {
        store,
        case: 'reference: hold all resources in memory',
        timeMs: loadAll.memory.ms,
        statements: 1,
        rows: loadAll.rows,
        memory: loadAll.memory,
        xFloor: loadAll.memory.ms / rawDeleteMs,
      },
    ];
    return {
      store,
      scale: options.scale,
      plan,
      generateSeconds,
      run: {
        ...runRest,
        timeMs: run.memory.ms,
        deleted: runIds.length,
        blockedRemaining,
        statementsPerDeleted: round(run.statements / Math.max(1, runIds.length), 3),
      },
      dryRun: { ...dryRest, timeMs: dryRun.memory.ms, candidates: dryIds.length },
      floors: {
        readCandidateIdsMs,
        candidateIds,
        rawDeleteMs,
        rawDeleteStatements,
        loadAll: { timeMs: loadAll.memory.ms, rows: loadAll.rows, memory: loadAll.memory },
      },
      checks,
      cases,
    };
  } finally {
    for (const stop of stops) await stop().catch((e) => progress(`gc/${store}: while stopping: ${(e as Error).message}`));
  }
}
