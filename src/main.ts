import { ConfigError, loadConfig } from './config.js';
import { PendingMigrationsError } from './data/migration-step.js';
import { StoreUnavailableError } from './data/store-errors.js';
import { SchemaFileError } from './model/load.js';
import { createLogger } from './logger.js';
import { surviveUnhandledRejections } from './observability/process-faults.js';
import { startTracing } from './observability/tracing.js';
import { startApp } from './server/app.js';
import { SchemaNameError } from './server/schema.js';
import { SchemaEvolutionError } from './engine/evolution.js';
import { PortError } from './server/metrics-endpoint.js';

const log = createLogger();
// Installed before anything starts: a missed rejection must not end the process (process-faults.ts).
surviveUnhandledRejections(log);

try {
  const config = loadConfig();
  const stopTracing = await startTracing(process.env, log);
  const app = await startApp(config, log);
  // SIGTERM (container runtimes, systemd) and SIGINT (Ctrl-C): stop taking requests, let those in
  // flight finish, stop maintenance and the feed, close the stores, exit 0. Past the bound, exit 1.
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, boundMs: config.shutdownTimeoutMs }, 'shutting down: finishing in-flight requests');
    const bound = setTimeout(() => {
      log.error({ boundMs: config.shutdownTimeoutMs }, 'shutdown did not finish in time; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    bound.unref();
    app
      .stop()
      .then(() => stopTracing())
      .then(
        () => {
          log.info('stopped');
          process.exit(0);
        },
        (err) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // Only now: whoever reads "ready" may send a signal at once, and it must find the handlers.
  log.info({ url: app.url, store: config.embeddedStore ? 'embedded SQLite' : 'DATABASE_URL' }, 'subgraph ready');
  process.stdout.write(
    config.landingPage
      ? `\n  Integrity subgraph ready. Open Apollo Sandbox: ${app.url}\n\n`
      : `\n  Integrity subgraph ready at ${app.url} (no Sandbox page: LANDING_PAGE=false)\n\n`,
  );
} catch (e) {
  if (
    e instanceof SchemaFileError ||
    e instanceof SchemaNameError ||
    e instanceof SchemaEvolutionError ||
    e instanceof ConfigError ||
    e instanceof StoreUnavailableError ||
    e instanceof PendingMigrationsError ||
    e instanceof PortError
  ) {
    if (e instanceof StoreUnavailableError) log.error({ err: e, cause: e.cause }, 'cannot start');
    process.stderr.write(`Cannot start: ${e.message}\n`);
  } else {
    log.fatal({ err: e }, 'cannot start');
  }
  process.exit(1);
}
