import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Db } from '../src/data/db.js';
import { StoreUnavailableError } from '../src/data/store-errors.js';
import { tempMysql, type TempStore } from './support/stores.js';

/**
 * A bounded maintenance transaction raises the statement limit to its own bound on the server
 * (MAINTENANCE_TX_TIMEOUT_SECONDS); the client must wait as long, not give up at the ordinary
 * statement limit, while ordinary statements keep theirs.
 */
describe('statement limits inside a bounded maintenance transaction (mariadb)', () => {
  let store: TempStore;
  let db: Db;
  beforeAll(async () => {
    store = await tempMysql('mtxbounds');
    // An ordinary statement may take 0.5 s here (the client gives up a second after that).
    db = await Db.open({ url: store.url, statementTimeoutMs: 500 });
    await db.migrate();
  });
  afterAll(async () => {
    await db?.close();
    await store?.drop();
  });

  it('lets a statement run up to the transaction bound, and still stops ordinary statements at their own limit', async () => {
    const inBounded = await db.transaction((tx) => tx.query<{ slept: number }>('SELECT SLEEP(2) AS slept'), { timeoutSeconds: 5 });
    expect(inBounded).toEqual([{ slept: 0 }]);
    await expect(db.query('SELECT SLEEP(2) AS slept')).rejects.toThrow(StoreUnavailableError);
    await expect(db.query('SELECT SLEEP(2) AS slept')).rejects.toThrow(/timed out/);
  });
});
