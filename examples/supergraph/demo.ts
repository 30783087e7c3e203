import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startApp } from '../../src/server/app.js';
import { startEmployeesSubgraph } from '../employees-subgraph/server.js';
import { composeSupergraph, demoSubgraphs } from './compose.js';
import { startGateway } from './gateway.js';

/**
 * `npm run demo:supergraph`: this subgraph on the embedded store (as `npm start` runs it), the
 * example subgraph that owns employees and bank accounts on the same client store, composed
 * in-process and served by Apollo Gateway. Ctrl-C stops all three.
 */
const env: NodeJS.ProcessEnv = { AUTH_MODE: 'none', ...process.env };
const log = createLogger(env.LOG_LEVEL || 'warn');
const port = (name: string, fallback: number) => Number(env[name] || fallback);

const config = loadConfig(env);
// The handlers come first: a signal during start-up (or the instant the ready line is read) must
// stop whatever has started, not kill the process with its ports and files half-closed.
const stops: Array<() => Promise<void>> = [];
const stopAll = async () => {
  for (const stop of stops.splice(0)) await stop().catch((err: unknown) => log.warn({ err }, 'while stopping'));
};
let stopping = false;
let startup: Promise<void> = Promise.resolve();
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  // Start-up sees `stopping` between parts and starts no more; what it started is in `stops`.
  await startup.catch(() => undefined);
  await stopAll();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());

startup = (async () => {
  const app = await startApp(config, log, env);
  stops.unshift(() => app.stop());
  if (stopping) return;
  const employees = await startEmployeesSubgraph({
    clientUrl: config.clientDatabaseUrl,
    port: port('EMPLOYEES_PORT', 4002),
    host: config.host,
  });
  stops.unshift(() => employees.stop());
  if (stopping) return;
  const { supergraphSdl } = composeSupergraph(demoSubgraphs({ integrity: app.url, employees: employees.url }));
  const gateway = await startGateway({
    supergraphSdl,
    port: port('GATEWAY_PORT', 4000),
    host: config.host,
    corsOrigins: config.corsOrigins,
  });
  stops.unshift(() => gateway.stop());
  if (stopping) return;
  process.stdout.write(
    `\n  Subgraphs: integrity ${app.url}, employees ${employees.url}\n` +
      `  Supergraph ready (Apollo Gateway). Open Apollo Sandbox: ${gateway.url}\n\n`,
  );
})();
try {
  await startup;
} catch (e) {
  await stopAll();
  throw e;
}
