/**
 * Another replica taking over a lease whose holder is frozen, for test/maintenance-lease-lost.test.ts:
 *
 *   node --import tsx test/support/lease-takeover.ts <url> <lease> <holder>
 *
 * Waits (on the database clock) until the lease has expired, takes it with a LeaseManager as any
 * replica would, releases it, and prints the token it held. The test runs it synchronously from
 * inside the subgraph's process, so that process is frozen meanwhile, as a paused replica is.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { Db } from '../../src/data/db.js';
import { LeaseManager } from '../../src/maintenance/lease.js';

const [url, lease, holder] = process.argv.slice(2);
if (!url || !lease || !holder) {
  console.error('usage: lease-takeover.ts <url> <lease> <holder>');
  process.exit(2);
}

const db = await Db.open({ url, poolSize: 1 });
try {
  const leases = new LeaseManager(db, { holder, ttlSeconds: 30 });
  for (let attempt = 0; ; attempt++) {
    const taken = await leases.runExclusive(lease, async (run) => run.token);
    if (taken.ran) {
      process.stdout.write(String(taken.result));
      break;
    }
    if (attempt > 1000) throw new Error(`lease ${lease} never expired`);
    await delay(20);
  }
} finally {
  await db.close();
}
