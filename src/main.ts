import { ConfigError, loadConfig } from './config.js';
import { SchemaFileError } from './engine/schema/load.js';
import { createLogger } from './logger.js';
import { startApp } from './server/app.js';

const log = createLogger();

try {
  const config = loadConfig();
  const app = await startApp(config, log);
  log.info({ url: app.url, store: config.embeddedStore ? 'embedded SQLite' : 'DATABASE_URL' }, 'subgraph ready');
  process.stdout.write(`\n  Integrity subgraph ready. Open Apollo Sandbox: ${app.url}\n\n`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: finishing in-flight requests');
    app.stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
} catch (e) {
  if (e instanceof SchemaFileError || e instanceof ConfigError) {
    process.stderr.write(`Cannot start: ${e.message}\n`);
  } else {
    log.fatal({ err: e }, 'cannot start');
  }
  process.exit(1);
}
