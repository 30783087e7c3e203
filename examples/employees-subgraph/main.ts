import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createLogger } from '../../src/logger.js';
import { ensureDemoClientStore } from '../../src/remote/client-demo.js';
import { startEmployeesSubgraph } from './server.js';

/**
 * The example employees subgraph on its own: the image's `employees` command (a compose file's
 * second subgraph). It reads CLIENT_DATABASE_URL (the store the integrity subgraph's `client`
 * source reads too); unset, an embedded client store with the demo rows in DATA_DIR. Serves on
 * PORT (default 4002) and HOST; SIGTERM or SIGINT stops it and exits 0.
 */
const log = createLogger();
const env = process.env;

try {
  let clientUrl = env.CLIENT_DATABASE_URL;
  if (!clientUrl) {
    const dataDir = resolve(env.DATA_DIR || './data');
    mkdirSync(dataDir, { recursive: true });
    clientUrl = `sqlite:${resolve(dataDir, 'client.sqlite')}`;
    if (await ensureDemoClientStore(clientUrl)) log.info({ url: clientUrl }, 'created the embedded client store with demo rows');
  }
  const port = Number(env.PORT || 4002);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number (got "${env.PORT}")`);
  const served = await startEmployeesSubgraph({ clientUrl, port, host: env.HOST || '127.0.0.1' });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    served.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  log.info({ url: served.url }, 'employees subgraph ready');
} catch (e) {
  process.stderr.write(`Cannot start the employees subgraph: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
