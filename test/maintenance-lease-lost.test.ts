import { execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, startTestServer, type TestServer } from './support/server.js';
import { OPERATIONAL_KINDS, tempOperationalStore, type TempStore } from './support/stores.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The first statement of a fenced transaction: it locks the lease row to check the token (src/maintenance/lease.ts). */
const LEASE_CHECK = /^(UPDATE lease SET token = token WHERE name = \?|SELECT token, expires_at FROM lease WHERE name = \? FOR UPDATE)$/;

/**
 * A collection that loses its lease mid-run: the subgraph's process freezes just as its second
 * batch transaction is about to check the lease (its first batch committed), another replica takes
 * the expired lease over meanwhile, and the run resumes. The operator gets MAINTENANCE_BUSY saying
 * the lease was lost and what had been collected, with the partial report in the extensions; what
 * was collected is gone, the rest is collected by the next run.
 */
describe.each(OPERATIONAL_KINDS)('a collection that loses its lease mid-run on %s', (kind) => {
  const BATCH = 2;
  let store: TempStore;
  let s: TestServer;
  let marked: string[];
  beforeAll(async () => {
    store = await tempOperationalStore(kind);
    s = await startTestServer(kind, {
      env: {
        DATABASE_URL: store.url,
        RETENTION_SECONDS: '0',
        GC_BATCH_SIZE: String(BATCH),
        LEASE_TTL_SECONDS: '1',
        REQUEST_TIMEOUT_MS: '60000',
      },
    });
    marked = [];
    for (let i = 0; i < 5; i++) {
      const { createProject } = await s.ok<{ createProject: { id: string } }>(
        `mutation($n: String!) { createProject(input: { name: $n }) { id } }`,
        { n: `doomed-${i}` },
      );
      await s.ok(`mutation($id: ID!) { markForDeletion(id: $id) { marked { id } } }`, { id: createProject.id });
      marked.push(createProject.id);
    }
    marked.sort();
  });
  afterAll(async () => {
    await s?.close();
    await store?.drop();
  });

  /**
   * Runs `mutation`; once a statement matching `firstBatch` was sent, the process freezes at the
   * next fenced transaction's lease check while another replica takes the expired lease over.
   */
  async function losingTheLease(mutation: string, firstBatch: RegExp) {
    let armed = false;
    let takenOver: number | undefined;
    const stop = s.app.db.statementLog.listen((sql) => {
      if (firstBatch.test(sql)) armed = true;
      else if (armed && takenOver === undefined && LEASE_CHECK.test(sql)) {
        // Frozen here (synchronously) until the other replica has taken the expired lease.
        takenOver = Number(
          execFileSync(process.execPath, ['--import', 'tsx', 'test/support/lease-takeover.ts', store.url, 'maintenance', 'thief'], {
            cwd: ROOT,
            encoding: 'utf8',
          }),
        );
      }
    });
    try {
      const res = await s.gql(mutation);
      expect(takenOver).toBeGreaterThan(0);
      return res;
    } finally {
      stop();
    }
  }

  it('answers MAINTENANCE_BUSY: the lease was lost, how much was collected, which ids; the next run collects the rest', async () => {
    const res = await losingTheLease(`mutation { collectGarbage { deleted archived } }`, /^DELETE FROM resource WHERE id IN/);
    expect(codes(res)).toEqual(['MAINTENANCE_BUSY']);
    expect(res.data ?? null).toBeNull();
    const [error] = res.errors!;
    expect(error.message).toMatch(/lost its lease mid-run/);
    expect(error.message).toMatch(/2 resources collected \(2 archived\)/);
    expect(error.extensions).toMatchObject({
      code: 'MAINTENANCE_BUSY',
      lease: 'maintenance',
      leaseLost: true,
      collected: BATCH,
      archived: BATCH,
      idsOmitted: 0,
    });
    const collected = error.extensions!.ids as string[];
    expect(collected).toEqual(marked.slice(0, BATCH));

    // What it reported collected is gone; the rest is still there, marked, and the next run takes it.
    for (const id of marked) {
      const { resource } = await s.ok<{ resource: { status: string } | null }>(`query($id: ID!) { resource(id: $id) { status } }`, { id });
      expect([id, resource]).toEqual([id, collected.includes(id) ? null : { status: 'MARKED_FOR_DELETION' }]);
    }
    const next = await s.ok<{ collectGarbage: { deleted: string[] } }>(`mutation { collectGarbage { deleted } }`);
    expect([...next.collectGarbage.deleted].sort()).toEqual(marked.slice(BATCH));
  });

  it('pruneHistory that loses its lease after a batch answers MAINTENANCE_BUSY with the versions it deleted', async () => {
    // 600 old versions of one project: two pruning batches of at most 500 versions.
    const { createProject } = await s.ok<{ createProject: { id: string } }>(
      `mutation { createProject(input: { name: "versioned" }) { id } }`,
    );
    for (let round = 0; round < 6; round++) {
      const updates = Array.from(
        { length: 100 },
        (_, i) => `u${i}: updateProject(id: $id, input: { description: "r${round}-${i}" }) { version }`,
      );
      await s.ok(`mutation($id: ID!) { ${updates.join(' ')} }`, { id: createProject.id });
    }
    const res = await losingTheLease(
      `mutation { pruneHistory(keepLast: 1) { versionsDeleted } }`,
      /^DELETE FROM resource_history WHERE valid_to IS NOT NULL/,
    );
    expect(codes(res)).toEqual(['MAINTENANCE_BUSY']);
    const [error] = res.errors!;
    expect(error.message).toMatch(/lost its lease mid-run.*: 500 versions deleted before that/);
    expect(error.extensions).toMatchObject({ code: 'MAINTENANCE_BUSY', lease: 'maintenance', leaseLost: true, versionsDeleted: 500 });
    const next = await s.ok<{ pruneHistory: { versionsDeleted: number } }>(`mutation { pruneHistory(keepLast: 1) { versionsDeleted } }`);
    expect(next.pruneHistory.versionsDeleted).toBe(100);
  });
});
