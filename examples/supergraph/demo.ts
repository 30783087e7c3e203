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
const app = await startApp(config, log, env);
const employees = await startEmployeesSubgraph({ clientUrl: config.clientDatabaseUrl, port: port('EMPLOYEES_PORT', 4002), host: config.host });
const stops = [() => app.stop(), () => employees.stop()];
try {
  const { supergraphSdl } = composeSupergraph(demoSubgraphs({ integrity: app.url, employees: employees.url }));
  const gateway = await startGateway({ supergraphSdl, port: port('GATEWAY_PORT', 4000), host: config.host, corsOrigins: config.corsOrigins });
  stops.unshift(() => gateway.stop());
  process.stdout.write(
    `\n  Subgraphs: integrity ${app.url}, employees ${employees.url}\n` +
      `  Supergraph ready (Apollo Gateway). Open Apollo Sandbox: ${gateway.url}\n\n`,
  );
} catch (e) {
  for (const stop of stops) await stop();
  throw e;
}

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  for (const stop of stops) await stop().catch((err: unknown) => log.warn({ err }, 'while stopping'));
  process.exit(0);
};
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
