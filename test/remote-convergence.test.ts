import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_EMPLOYEES, execClientSql, queryClientSql } from '../src/remote/client-demo.js';
import type { RemoteChange } from '../src/remote/changes.js';
import { DomainError } from '../src/engine/errors.js';
import { debeziumPosition, type FeedPosition } from '../src/remote/position.js';
import { mulberry32 } from './support/gc-random.js';
import { startTestServer, type TestServer } from './support/server.js';
import { OPERATIONAL_KINDS } from './support/stores.js';
import { createDomain, createGroups, md5 } from './support/remote-fixtures.js';

/**
 * Issue 17, requirement 7, as a property: whatever the events said (future-dated within the skew,
 * beyond it, in microseconds, older but different, repeated, of different clocks, position-less),
 * whatever reads and positions were left in the rows, once the store stops changing one sweep
 * brings every row to the store's state, and no row is frozen (a further change and one more
 * sweep are followed too).
 */

const KEYS = 12;
const STEPS = 150;
const SEEDS = [17, 1714, 424242];
const ids = Array.from({ length: KEYS }, (_, i) => DEMO_EMPLOYEES[i].employeeId);

interface Truth {
  name: string;
  email: string | null;
  department: string | null;
}

describe.each(OPERATIONAL_KINDS)('the remote cache converges whatever the events say (operational %s)', (op) => {
  let s: TestServer;

  beforeAll(async () => {
    // REVALIDATE_AFTER_SECONDS=0: the sweep run directly looks at every row; no timer runs one.
    s = await startTestServer(op, { env: { REVALIDATE_AFTER_SECONDS: '0', REVALIDATE_INTERVAL_SECONDS: '0' } });
    await createDomain(s);
    await createGroups(
      s,
      ids.map((k) => `g-${k}`),
      ids,
    );
  }, 120_000);
  afterAll(async () => {
    await s?.close();
  });

  async function storeState(): Promise<Map<string, Truth>> {
    const [rows] = await queryClientSql(s.clientUrl, [{ sql: `SELECT employee_id, name, email, department FROM employee` }]);
    return new Map(
      rows.map((r) => [
        String(r.employee_id),
        { name: String(r.name), email: (r.email as string | null) ?? null, department: (r.department as string | null) ?? null },
      ]),
    );
  }

  async function cacheState(): Promise<Map<string, { deleted: boolean; entity: Truth | null; fetchedAt: string | null }>> {
    const rows = await s.app.db.query<{
      remote_key_payload: string;
      cached_entity: string | null;
      deleted: number | string;
      fetched_at: string | null;
    }>(`SELECT remote_key_payload, cached_entity, deleted, fetched_at FROM remote_ref WHERE entity_type = 'Employee'`);
    return new Map(
      rows.map((r) => {
        const e = r.cached_entity ? (JSON.parse(r.cached_entity) as Truth) : null;
        return [
          (JSON.parse(r.remote_key_payload) as { employeeId: string }).employeeId,
          {
            deleted: Number(r.deleted) === 1,
            entity: e && { name: e.name, email: e.email ?? null, department: e.department ?? null },
            fetchedAt: r.fetched_at,
          },
        ];
      }),
    );
  }

  /** Every row equals the store: the entity when it has the key, flagged deleted when it has not. */
  async function expectConverged(label: string) {
    const truth = await storeState();
    const cache = await cacheState();
    const wrong: string[] = [];
    for (const k of ids) {
      const t = truth.get(k);
      const c = cache.get(k);
      const ok = c && (t ? !c.deleted && JSON.stringify(c.entity) === JSON.stringify(t) : c.deleted);
      if (!ok) wrong.push(`${k}: store ${JSON.stringify(t ?? 'deleted')}, cache ${JSON.stringify(c)}`);
    }
    expect(wrong, label).toEqual([]);
  }

  it.each(SEEDS)(
    'seed %i: random events, store changes, reads and leftover positions, then one sweep',
    async (seed) => {
      const rnd = mulberry32(seed);
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
      const stats: Record<string, number> = {};
      const seen = (what: string) => (stats[what] = (stats[what] ?? 0) + 1);
      let binlog = 1_000_000 * seed;
      let version = 0;
      const sent: RemoteChange[] = [];
      const history = new Map<string, Truth[]>(); // every state the store had, per key
      const start = await storeState();
      for (const k of ids) history.set(k, start.has(k) ? [start.get(k)!] : []);

      const position = (): { position: FeedPosition | null; refused: boolean; kind: string } => {
        const now = Date.now();
        const r = rnd();
        if (r < 0.3)
          return {
            position: debeziumPosition({ ts_ms: now, file: 'mysql-bin.000007', pos: ++binlog, row: 0 }, undefined, 1),
            refused: false,
            kind: 'binlog newest',
          };
        if (r < 0.45)
          return {
            position: debeziumPosition(
              { ts_ms: now, file: 'mysql-bin.000007', pos: binlog - 1 - Math.floor(rnd() * 50), row: 0 },
              undefined,
              1,
            ),
            refused: false,
            kind: 'binlog older',
          };
        if (r < 0.6)
          return {
            position: debeziumPosition({ ts_ms: now + Math.floor(rnd() * 290_000) }, undefined, Math.floor(rnd() * 1000)),
            refused: false,
            kind: 'ts ahead within skew',
          };
        if (r < 0.7)
          return {
            position: debeziumPosition({ ts_ms: now - Math.floor(rnd() * 600_000) }, undefined, 1),
            refused: false,
            kind: 'ts behind',
          };
        if (r < 0.75)
          return { position: debeziumPosition({ lsn: Math.floor(rnd() * 1e9) }, now, 1), refused: false, kind: 'lsn (another connector)' };
        if (r < 0.8)
          return {
            position: debeziumPosition({ ts_ms: now + 301_000 + Math.floor(rnd() * 1e9) }, undefined, 1),
            refused: true,
            kind: 'ts beyond skew',
          };
        if (r < 0.85)
          return {
            position: debeziumPosition({ ts_ms: now * 1000, file: 'mysql-bin.000007', pos: ++binlog, row: 0 }, undefined, 1),
            refused: true,
            kind: 'ts_ms in microseconds',
          };
        return { position: null, refused: false, kind: 'no position' };
      };

      /**
       * Positions left in a row from anywhere: a feed position all nines on some clock, a state dated
       * far ahead (a clock that was set back), as rows written before the clocks were told apart hold.
       */
      const leftovers = (k: string) =>
        s.app.db.execute(`UPDATE remote_ref SET source_position = ?, source_clock = ?, state_at = ? WHERE remote_hash_key = ?`, [
          `${'9'.repeat(20)}-${'9'.repeat(40)}-${'9'.repeat(24)}`,
          pick(['ts', 'binlog', 'lsn', 'replica-b']),
          rnd() < 0.5 ? '2999-01-01 00:00:00.000000' : null,
          md5(JSON.stringify({ employeeId: k })),
        ]);

      for (let step = 0; step < STEPS; step++) {
        const k = pick(ids);
        const r = rnd();
        if (r < 0.2) {
          // The store changes: renamed, deleted, or back.
          const has = (await storeState()).has(k);
          if (has && rnd() < 0.3) {
            await execClientSql(s.clientUrl, [`DELETE FROM employee WHERE employee_id = '${k}'`]);
            seen('store delete');
          } else if (has) {
            const name = `${k} v${++version}`;
            await execClientSql(s.clientUrl, [`UPDATE employee SET name = '${name}' WHERE employee_id = '${k}'`]);
            seen('store rename');
          } else {
            await execClientSql(s.clientUrl, [
              `INSERT INTO employee (employee_id, name, department) VALUES ('${k}', '${k} back v${++version}', 'Back')`,
            ]);
            seen('store reappearance');
          }
          const t = (await storeState()).get(k);
          if (t) history.get(k)!.push(t);
        } else if (r < 0.75) {
          // An event: content that is the store's now, an earlier state, or made up; a random position.
          const { position: p, refused, kind } = position();
          const truth = (await storeState()).get(k);
          const c = rnd();
          const earlier = history.get(k)!;
          const entity =
            c < 0.4 && truth
              ? truth
              : c < 0.7 && earlier.length
                ? pick(earlier)
                : { name: `${k} noise ${step}`, email: null, department: 'Noise' };
          const event: RemoteChange =
            rnd() < 0.2
              ? { entityType: 'Employee', key: { employeeId: k }, op: 'DELETE', position: p, eventId: `ev-${seed}-${step}` }
              : rnd() < 0.1
                ? { entityType: 'Employee', key: { employeeId: k }, op: 'UPSERT', position: p, eventId: `ev-${seed}-${step}` } // no entity: evicts
                : {
                    entityType: 'Employee',
                    key: { employeeId: k },
                    op: 'UPSERT',
                    entity: { employeeId: k, ...entity },
                    position: p,
                    eventId: `ev-${seed}-${step}`,
                  };
          const repeat = sent.length > 0 && rnd() < 0.1;
          const batch = repeat ? [pick(sent), event] : [event];
          try {
            await s.app.engine.applyRemoteChanges(batch);
            expect(refused, `${kind} must be refused`).toBe(false);
            seen(`event: ${kind}${repeat ? ' (+ a repeat)' : ''}`);
            sent.push(event);
          } catch (e) {
            expect(e, kind).toBeInstanceOf(DomainError);
            expect((e as DomainError).code).toBe('BAD_USER_INPUT');
            expect(refused, `${kind}: ${(e as Error).message}`).toBe(true);
            seen(`refused: ${kind}`);
          }
        } else if (r < 0.9) {
          // A read (refetches what is evicted, and deleted rows due for a look).
          await s.ok(`{ deploymentIntentGroups(project: "rp", first: 100) { owner { status entity { name } } } }`);
          seen('read');
        } else {
          await leftovers(k);
          seen('leftover positions');
        }
      }
      // Some rows end with such leftovers too: nothing written after them.
      for (const k of ids) if (rnd() < 0.3) await leftovers(k);

      // The store settles; one sweep.
      const before = await s.app.db.now();
      await s.app.engine.maintenance.revalidate();
      await expectConverged(`seed ${seed} after one sweep (${JSON.stringify(stats)})`);
      for (const [k, c] of await cacheState()) expect(c.fetchedAt! > before, `${k} was checked by the sweep`).toBe(true);
      // Nothing is frozen: every key changes (deleted, renamed, back) and one more sweep follows each time.
      const all = ids.map((k) => `'${k}'`).join(', ');
      await execClientSql(s.clientUrl, [`DELETE FROM employee WHERE employee_id IN (${all})`]);
      await s.app.engine.maintenance.revalidate();
      await expectConverged(`seed ${seed} after every key was deleted and one sweep`);
      await execClientSql(
        s.clientUrl,
        ids.map((k) => `INSERT INTO employee (employee_id, name) VALUES ('${k}', '${k} final ${seed}')`),
      );
      await s.app.engine.maintenance.revalidate();
      await expectConverged(`seed ${seed} after every key came back and one sweep`);
      // The cases exercised (printed so a reader of the run sees the mix).
      console.info(`convergence seed ${seed} (${op}): ${JSON.stringify(stats)}`);
      expect(Object.keys(stats).filter((k) => k.startsWith('refused')).length).toBeGreaterThan(0);
    },
    120_000,
  );
});
