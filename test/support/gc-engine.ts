/**
 * Builds an Engine the way src/server/app.ts does (schema, Db, sources, settings), for the
 * multi-process garbage-collection tests (test/gc-replicas.test.ts) and their worker processes,
 * plus an instrumented collector whose fenced writes leave evidence in test tables.
 */
import { Db } from '../../src/data/db.js';
import { DEFAULT_MAINTENANCE, Engine } from '../../src/engine/engine.js';
import { GarbageCollector } from '../../src/engine/lifecycle/collector.js';
import type { FencedWriter } from '../../src/engine/lifecycle/fenced.js';
import type { GcReport } from '../../src/engine/lifecycle/model.js';
import { HistoryPruner } from '../../src/engine/lifecycle/pruner.js';
import { loadRelationshipSchema } from '../../src/model/load.js';
import type { RelationshipSchema } from '../../src/model/model.js';
import { Maintenance } from '../../src/maintenance/maintenance.js';
import { closeSources, createSources } from '../../src/remote/sources/registry.js';
import { resilienceFromEnv } from '../../src/remote/sources/resilient-source.js';
import type { RemoteSource } from '../../src/remote/sources/source.js';

export interface GcEngineOptions {
  url: string;
  /** The client store (employees, bank accounts) remote references are checked against. */
  clientUrl: string;
  leaseTtlSeconds: number;
  gcBatchSize: number;
  /** Server-side bound on each maintenance transaction (MAINTENANCE_TX_TIMEOUT_SECONDS). */
  transactionTimeoutSeconds?: number;
  poolSize?: number;
}

export interface GcEngine {
  db: Db;
  engine: Engine;
  schema: RelationshipSchema;
  sources: Map<string, RemoteSource>;
  close(): Promise<void>;
}

/** Tables the multi-process tests create next to the migrated ones; workers report into them. */
export const GC_TEST_TABLES = [
  `CREATE TABLE gc_test_log (seq INT AUTO_INCREMENT PRIMARY KEY, worker VARCHAR(64) NOT NULL, event VARCHAR(32) NOT NULL,
     token INT NULL, at VARCHAR(26) NULL, detail LONGTEXT NULL)`,
  // One row per resource a batch deleted, written in the batch's own (fenced) transaction.
  `CREATE TABLE gc_test_deleted (worker VARCHAR(64) NOT NULL, token INT NOT NULL, batch INT NOT NULL, resource_id VARCHAR(36) NOT NULL,
     at VARCHAR(26) NOT NULL, PRIMARY KEY (resource_id, token))`,
  `CREATE TABLE gc_test_control (name VARCHAR(64) NOT NULL PRIMARY KEY)`,
];

export async function openGcEngine(o: GcEngineOptions): Promise<GcEngine> {
  const schema = loadRelationshipSchema();
  const db = await Db.open({ url: o.url, poolSize: o.poolSize ?? 6 });
  const sources = createSources(schema, {
    env: {},
    defaultClientUrl: o.clientUrl,
    resilience: resilienceFromEnv({ REMOTE_RETRIES: '0' }),
  });
  const engine = new Engine(db, schema, sources, {
    retentionSeconds: 0,
    batching: true,
    maintenance: { ...DEFAULT_MAINTENANCE, leaseTtlSeconds: o.leaseTtlSeconds, gcBatchSize: o.gcBatchSize },
  });
  return {
    db,
    engine,
    schema,
    sources,
    async close() {
      await closeSources(sources as Map<string, { close(): Promise<void> }>);
      await db.close();
    },
  };
}

export interface InstrumentHooks {
  /** Called when a run starts under the lease, before its first statement. */
  beforeRun?(token: number): Promise<void>;
  /** Called before each fenced transaction of a run, outside any transaction (`n` counts from 0). */
  beforeTransaction?(n: number, token: number): Promise<void>;
  /** Called inside each fenced transaction, after its work and before its commit. */
  insideTransaction?(n: number, token: number): Promise<void>;
}

/**
 * A GarbageCollector whose run is observed: start and end of each run (database clock, under the
 * lease) go to gc_test_log, and every deletion batch writes its ids to gc_test_deleted inside its
 * own fenced transaction, so the record commits exactly when the deletion does.
 */
export class InstrumentedCollector extends GarbageCollector {
  private batches = 0;

  constructor(
    private readonly gdb: Db,
    schema: RelationshipSchema,
    batchSize: number,
    private readonly worker: string,
    private readonly hooks: InstrumentHooks = {},
  ) {
    super(gdb, schema, batchSize);
  }

  override async collect(run: FencedWriter, dryRun: boolean): Promise<GcReport> {
    const { gdb: db, worker, hooks } = this;
    await log(db, worker, 'run-start', run.token);
    await hooks.beforeRun?.(run.token);
    let transactions = 0;
    const observed: FencedWriter = {
      token: run.token,
      transaction: async (fn) => {
        const n = transactions++;
        await hooks.beforeTransaction?.(n, run.token);
        return run.transaction(async (tx) => {
          const result = await fn(tx);
          await hooks.insideTransaction?.(n, run.token);
          const deleted = (result as { deleted?: unknown } | null)?.deleted;
          if (Array.isArray(deleted) && deleted.length) {
            const at = await tx.now();
            const batch = this.batches++;
            await tx.execute(
              `INSERT INTO gc_test_deleted (worker, token, batch, resource_id, at) VALUES ${deleted.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
              deleted.flatMap((id) => [worker, run.token, batch, id, at]),
            );
          }
          return result;
        });
      },
    };
    const report = await super.collect(observed, dryRun);
    await log(db, worker, 'run-end', run.token, JSON.stringify({ deleted: report.deleted.length }));
    return report;
  }
}

/** A Maintenance (the same class Engine uses) around an instrumented collector. */
export function instrumentedMaintenance(g: GcEngine, worker: string, options: GcEngineOptions, hooks?: InstrumentHooks) {
  const collector = new InstrumentedCollector(g.db, g.schema, options.gcBatchSize, worker, hooks);
  return new Maintenance(
    g.db,
    collector,
    new HistoryPruner(g.db),
    { db: g.db, schema: g.schema, sources: g.sources },
    {
      ...DEFAULT_MAINTENANCE,
      leaseTtlSeconds: options.leaseTtlSeconds,
      gcBatchSize: options.gcBatchSize,
      transactionTimeoutSeconds: options.transactionTimeoutSeconds,
    },
  );
}

/** Appends to gc_test_log with the database clock. */
export async function log(db: Db, worker: string, event: string, token: number | null = null, detail: string | null = null): Promise<void> {
  const at = await db.now();
  await db.execute(`INSERT INTO gc_test_log (worker, event, token, at, detail) VALUES (?, ?, ?, ?, ?)`, [worker, event, token, at, detail]);
}
