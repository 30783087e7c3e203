import type { MigrationsMode } from '../config.js';
import type { Logger } from '../logger.js';
import type { Db } from './db.js';

/** MIGRATIONS=check found migrations this build needs and the store lacks: start-up stops naming them. */
export class PendingMigrationsError extends Error {
  constructor(readonly pending: string[]) {
    super(
      `MIGRATIONS=check: the operational store lacks ${pending.length} migration${pending.length === 1 ? '' : 's'} (${pending.join(', ')}); ` +
        'apply them with `npm run migrate`, or start with MIGRATIONS=run',
    );
    this.name = 'PendingMigrationsError';
  }
}

/** Start-up's migration step, as MIGRATIONS says: apply what is pending, refuse to start with any pending, or leave them alone. */
export async function migrationStep(db: Db, mode: MigrationsMode, log: Logger): Promise<void> {
  if (mode === 'run') {
    const applied = await db.migrate();
    if (applied.length) log.info({ applied }, `applied ${applied.length} migration(s)`);
    return;
  }
  const pending = await db.pendingMigrations();
  if (mode === 'check' && pending.length) throw new PendingMigrationsError(pending);
  // skip: the operator migrates separately; what is missing is said, the rest is theirs.
  if (pending.length) log.warn({ pending }, 'MIGRATIONS=skip: the operational store lacks migrations; run `npm run migrate`');
}
