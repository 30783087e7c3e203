/**
 * A replica saving remote references, for the multi-process test in test/remote-concurrency.test.ts.
 *
 *   node --import tsx test/support/remote-save-worker.ts <dir> <worker> <project> <key>...
 *
 * DATABASE_URL and CLIENT_DATABASE_URL come from the environment; the operational store is
 * already migrated. The worker starts the subgraph as a replica does, then for each round i:
 * writes `<dir>/ready-<worker>-<i>`, waits for `<dir>/start-<i>`, creates group
 * `<worker>-r<i>` owned by employee `<key i>` through its own GraphQL endpoint, and writes what
 * happened to `<dir>/done-<worker>-<i>` as JSON.
 */
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startApp } from '../../src/server/app.js';

const [dir, worker, project, ...keys] = process.argv.slice(2);
if (!dir || !worker || !project || keys.length === 0) {
  console.error('usage: remote-save-worker.ts <dir> <worker> <project> <key>...');
  process.exit(2);
}

export interface WorkerRound {
  worker: string;
  round: number;
  key: string;
  /** The created group's id and its owner's remote_ref id, when the create succeeded. */
  groupId: string | null;
  ownerId: string | null;
  errors: unknown[] | null;
  /** Remote queries this replica sent while saving: 1 when it did not find the key cached. */
  remoteQueries: number;
}

const env: NodeJS.ProcessEnv = {
  AUTH_MODE: 'none',
  ...process.env,
  PORT: '0',
  SEED_DEMO: 'false',
  GC_INTERVAL_SECONDS: '0',
  REVALIDATE_INTERVAL_SECONDS: '0',
  REMOTE_RETRIES: '0',
};

async function waitForFile(path: string, limitMs = 60_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${path} never appeared`);
    await delay(1);
  }
}

const app = await startApp(loadConfig(env), createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'), env);
try {
  const gql = async (query: string, variables: Record<string, unknown>) => {
    const res = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as { data?: any; errors?: unknown[] };
  };
  // Warm both connection pools, so the rounds race on saving, not on connecting.
  const warm = await gql(`{ employees(first: 1) { employeeId } projects(first: 1) { id } }`, {});
  if (warm.errors) throw new Error(`warm-up failed: ${JSON.stringify(warm.errors)}`);

  let queries = 0;
  app.engine.remote.sources.get('client')!.onQuery(() => queries++);
  for (const [round, key] of keys.entries()) {
    writeFileSync(join(dir, `ready-${worker}-${round}`), '');
    await waitForFile(join(dir, `start-${round}`));
    const before = queries;
    const res = await gql(
      `mutation($input: CreateDeploymentIntentGroupInput!) { createDeploymentIntentGroup(input: $input) { id owner { id } } }`,
      { input: { project, compositeApp: 'shop', compositeProfile: 'default', name: `${worker}-r${round}`, owner: { employeeId: key } } },
    );
    const group = res.data?.createDeploymentIntentGroup;
    const outcome: WorkerRound = {
      worker,
      round,
      key,
      groupId: group?.id ?? null,
      ownerId: group?.owner?.id ?? null,
      errors: res.errors ?? null,
      remoteQueries: queries - before,
    };
    // Written aside and renamed, so the test never reads half a file.
    writeFileSync(join(dir, `.done-${worker}-${round}`), JSON.stringify(outcome));
    renameSync(join(dir, `.done-${worker}-${round}`), join(dir, `done-${worker}-${round}`));
  }
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  await app.stop();
}
