import { ConfigError, operationalStore } from '../config.js';
import { Db } from '../data/db.js';
import { StoreUnavailableError } from '../data/store-errors.js';

/**
 * `npm run migrate`: applies the pending migrations to the operational store (DATABASE_URL, or the
 * embedded SQLite file in DATA_DIR) and exits; 0 with what it applied, 1 with why it could not.
 * Replicas started afterwards with MIGRATIONS=check (or skip) need no DDL rights.
 */
let db: Db | undefined;
try {
  const { databaseUrl, embeddedStore } = operationalStore();
  db = await Db.open({ url: databaseUrl });
  const applied = await db.migrate();
  const where = embeddedStore ? `the embedded store (${databaseUrl.slice('sqlite:'.length)})` : 'DATABASE_URL';
  process.stdout.write(
    applied.length
      ? `Applied ${applied.length} migration${applied.length === 1 ? '' : 's'} to ${where}:\n${applied.map((name) => `  ${name}\n`).join('')}`
      : `No pending migrations: ${where} is up to date.\n`,
  );
  await db.close();
  process.exit(0);
} catch (e) {
  await db?.close().catch(() => undefined);
  if (e instanceof StoreUnavailableError) {
    process.stderr.write(`Cannot migrate: ${e.message} (check DATABASE_URL, and that the store is up)\n`);
  } else if (e instanceof ConfigError) {
    process.stderr.write(`Cannot migrate: ${e.message}\n`);
  } else {
    process.stderr.write(`Cannot migrate: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  }
  process.exit(1);
}
