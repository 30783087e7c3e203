import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createClientTables, insertDemoClientRows } from '../src/remote/client-demo.js';
import { startApp, type App } from '../src/server/app.js';
import { md5, until } from './support/remote-fixtures.js';
import type { WorkerRound } from './support/remote-save-worker.js';
import { tempClientStore, tempMysql, type ClientKind, type TempStore } from './support/stores.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WORKER = join(ROOT, 'test/support/remote-save-worker.ts');
const ROUNDS = 6;
const WORKERS = ['w1', 'w2'];

describe.each<ClientKind>(['sqlite', 'mariadb'])(
  'two replicas saving the same new key at once (operational mariadb, client %s)',
  (clientKind) => {
    let op: TempStore;
    let client: TempStore;
    let app: App;
    let dir: string;
    const children: ChildProcess[] = [];
    const exits: Promise<{ code: number | null; stderr: string }>[] = [];
    const keys = Array.from({ length: ROUNDS }, (_, i) => `new-${i}`);

    const gql = async (query: string, variables?: Record<string, unknown>) => {
      const res = await fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data?: any; errors?: unknown[] };
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      return body.data;
    };

    beforeAll(async () => {
      op = await tempMysql('op');
      client = await tempClientStore(clientKind);
      await createClientTables(client.url);
      await insertDemoClientRows(client.url);
      // keys nobody has saved yet: each round races on a fresh one
      await insertDemoClientRows(client.url, {
        employees: keys.map((k, i) => ({ employeeId: k, name: `New Hire ${i}`, email: null, department: 'Onboarding' })),
      });
      const env: NodeJS.ProcessEnv = {
        AUTH_MODE: 'none',
        DATABASE_URL: op.url,
        CLIENT_DATABASE_URL: client.url,
        PORT: '0',
        SEED_DEMO: 'false',
        GC_INTERVAL_SECONDS: '0',
        REVALIDATE_INTERVAL_SECONDS: '0',
        REMOTE_RETRIES: '0',
      };
      // This replica migrates the store (once, before the others start) and sets up the domain.
      app = await startApp(loadConfig(env), createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'), env);
      await gql(`mutation {
      p: createProject(input: { name: "race" }) { id }
      a: createCompositeApp(input: { project: "race", name: "shop" }) { id }
      b: createCompositeProfile(input: { project: "race", compositeApp: "shop", name: "default" }) { id }
    }`);
      dir = mkdtempSync(join(tmpdir(), 'isg-race-'));
      for (const w of WORKERS) {
        const child = spawn(process.execPath, ['--import', 'tsx', WORKER, dir, w, 'race', ...keys], {
          cwd: ROOT,
          env: { ...process.env, DATABASE_URL: op.url, CLIENT_DATABASE_URL: client.url },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr!.on('data', (d) => (stderr += String(d)));
        children.push(child);
        exits.push(new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr }))));
      }
    });

    afterAll(async () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await Promise.all(exits);
      await app?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
      await op?.drop();
      await client?.drop();
    });

    /** Waits for a file worker `w` writes; fails at once if that worker exits without writing it. */
    const waitFor = (w: string, file: string) =>
      until(
        file,
        async () => {
          const path = join(dir, file);
          if (existsSync(path)) return true;
          const child = children[WORKERS.indexOf(w)];
          if (child.exitCode !== null || child.signalCode !== null) {
            if (existsSync(path)) return true;
            const { stderr } = await exits[WORKERS.indexOf(w)];
            throw new Error(`worker ${w} exited before writing ${file}: ${stderr}`);
          }
          return false;
        },
        60_000,
        2,
      );

    it('ends every round with one remote_ref row per key and both groups linked to it', async () => {
      const rounds: WorkerRound[][] = [];
      for (let round = 0; round < ROUNDS; round++) {
        for (const w of WORKERS) await waitFor(w, `ready-${w}-${round}`);
        writeFileSync(join(dir, `start-${round}`), '');
        for (const w of WORKERS) await waitFor(w, `done-${w}-${round}`);
        rounds.push(WORKERS.map((w) => JSON.parse(readFileSync(join(dir, `done-${w}-${round}`), 'utf8')) as WorkerRound));
      }
      const ended = await Promise.all(exits);
      expect(
        ended.map((e) => e.code),
        ended.map((e) => e.stderr).join('\n'),
      ).toEqual([0, 0]);

      for (const [round, outcomes] of rounds.entries()) {
        const key = keys[round];
        for (const o of outcomes) {
          expect(o.errors, `${o.worker} round ${round}`).toBeNull();
          expect(o.groupId).toBeTruthy();
          expect(o.ownerId).toBeTruthy();
        }
        const rows = await app.db.query<{ id: string }>(
          `SELECT id FROM remote_ref WHERE entity_type = 'Employee' AND remote_hash_key = ?`,
          [md5(`{"employeeId":"${key}"}`)],
        );
        expect(rows, `round ${round}`).toHaveLength(1);
        // both replicas answered with, and linked, that one row
        expect(outcomes.map((o) => o.ownerId)).toEqual([rows[0].id, rows[0].id]);
        const links = await app.db.query<{ resource_id: string; remote_ref_id: string }>(
          `SELECT resource_id, remote_ref_id FROM remote_link WHERE remote_ref_id = ? ORDER BY resource_id`,
          [rows[0].id],
        );
        expect(links.map((l) => l.resource_id).sort()).toEqual(outcomes.map((o) => o.groupId!).sort());
      }
      expect(Number((await app.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM remote_ref`))[0].n)).toBe(ROUNDS);

      // The race was real: in some round both replicas found no row and asked the store (the one
      // whose row was kept asks it once more after its commit).
      const raced = rounds.filter((r) => r.every((o) => o.remoteQueries >= 1)).length;
      expect(raced, `remote queries per round: ${JSON.stringify(rounds.map((r) => r.map((o) => o.remoteQueries)))}`).toBeGreaterThan(0);

      // and through the API, every group reads its owner
      const { deploymentIntentGroups } = await gql(
        `{ deploymentIntentGroups(project: "race", first: 100) { name owner { id status key entity { name } } } }`,
      );
      expect(deploymentIntentGroups).toHaveLength(ROUNDS * WORKERS.length);
      for (const g of deploymentIntentGroups) {
        const round = Number(/-r(\d+)$/.exec(g.name)![1]);
        expect(g.owner).toMatchObject({ status: 'FRESH', key: { employeeId: keys[round] }, entity: { name: `New Hire ${round}` } });
      }
    });
  },
);
