/**
 * A replica running a leased job, for the multi-process tests in test/lease.test.ts.
 *
 *   node --import tsx test/support/lease-worker.ts <url> race <holder> <ttl>
 *   node --import tsx test/support/lease-worker.ts <url> batches <holder> <ttl> <batches> <rowsPerBatch> [pauseBeforeBatch]
 *   node --import tsx test/support/lease-worker.ts <url> freeze <holder> <ttl> <txTimeoutSeconds>
 *     Writes a row inside a fenced transaction, logs `frozen-point` and waits there (the test
 *     SIGSTOPs it) until the `thaw` flag; then reports how that transaction ended and tries one
 *     more fenced write.
 *
 * It reports to tables the test creates: lease_test_log (what happened), lease_test_rows (the job's
 * writes) and lease_test_control (flags the test sets to move it on).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { Db } from '../../src/data/db.js';
import { LeaseLostError, LeaseManager } from '../../src/maintenance/lease.js';

const [url, mode, holder, ttlArg, ...rest] = process.argv.slice(2);
if (!url || !mode || !holder || !ttlArg) {
  console.error('usage: lease-worker.ts <url> <race|batches> <holder> <ttlSeconds> …');
  process.exit(2);
}

const db = await Db.open({ url, poolSize: 2 });
const leases = new LeaseManager(db, {
  holder,
  ttlSeconds: Number(ttlArg),
  ...(mode === 'freeze' ? { transactionTimeoutSeconds: Number(rest[0]) } : {}),
});

const log = (event: string, token: number | null = null, detail: string | null = null) =>
  db.execute(`INSERT INTO lease_test_log (holder, event, token, detail) VALUES (?, ?, ?, ?)`, [holder, event, token, detail]);

async function waitForFlag(flag: string): Promise<void> {
  for (let i = 0; i < 1500; i++) {
    const rows = await db.query(`SELECT name FROM lease_test_control WHERE name = ?`, [flag]);
    if (rows.length > 0) return;
    await delay(20);
  }
  throw new Error(`flag ${flag} never set`);
}

async function race(): Promise<void> {
  await log('ready');
  await waitForFlag('start');
  const outcome = await leases.runExclusive('maintenance', async (run) => {
    await log('ran', run.token);
    // Hold the lease until the test has seen both workers' outcomes.
    await waitForFlag('go');
  });
  if (!outcome.ran) await log('skipped');
}

async function batches(): Promise<void> {
  const [batchCount, rowsPerBatch, pauseArg] = rest.map(Number);
  const pauseBefore = pauseArg ?? -1;
  const outcome = await leases.runExclusive('maintenance', async (run) => {
    await log('ran', run.token);
    // A replica taking over resumes the work: batches are planned once, at the start of the run.
    const done = new Set((await db.query<{ batch: number }>(`SELECT DISTINCT batch FROM lease_test_rows`)).map((r) => Number(r.batch)));
    const todo = Array.from({ length: batchCount }, (_, b) => b).filter((b) => !done.has(b));
    let refused = 0;
    for (const batch of todo) {
      if (batch === pauseBefore) {
        await log('paused-point', run.token, String(batch));
        await waitForFlag('continue');
      }
      try {
        await run.transaction(async (tx) => {
          for (let seq = 0; seq < rowsPerBatch; seq++) {
            await tx.execute(`INSERT INTO lease_test_rows (batch, seq, holder, token) VALUES (?, ?, ?, ?)`, [
              batch,
              seq,
              holder,
              run.token,
            ]);
            // Simulated work, so a kill is likely to land inside a batch.
            await delay(10);
          }
        });
      } catch (e) {
        if (!(e instanceof LeaseLostError)) throw e;
        refused++;
        await log('lost', run.token, String(batch));
      }
    }
    await log('done', run.token, `refused=${refused}`);
  });
  if (!outcome.ran) await log('skipped');
}

async function freeze(): Promise<void> {
  const outcome = await leases.runExclusive('maintenance', async (run) => {
    await log('ran', run.token);
    const frozen = await run
      .transaction(async (tx) => {
        await tx.execute(`INSERT INTO lease_test_rows (batch, seq, holder, token) VALUES (0, 0, ?, ?)`, [holder, run.token]);
        // Another connection of the pool: the transaction's own connection stays idle, holding the lease row.
        await log('frozen-point', run.token);
        await waitForFlag('thaw');
      })
      .then(
        () => 'committed',
        (e: unknown) => (e instanceof LeaseLostError ? 'lost' : 'failed'),
      );
    await log('frozen-tx', run.token, frozen);
    const after = await run
      .transaction((tx) => tx.execute(`INSERT INTO lease_test_rows (batch, seq, holder, token) VALUES (1, 0, ?, ?)`, [holder, run.token]))
      .then(
        () => 'committed',
        (e: unknown) => (e instanceof LeaseLostError ? 'lost' : 'failed'),
      );
    await log('after-thaw', run.token, after);
  });
  if (!outcome.ran) await log('skipped');
}

try {
  if (mode === 'race') await race();
  else if (mode === 'freeze') await freeze();
  else if (mode === 'batches') await batches();
  else throw new Error(`unknown mode ${mode}`);
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  await db.close();
}
