import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Db } from '../src/data/db.js';
import { tempSqlite, type TempStore } from './support/stores.js';

/** On SQLite one connection serves the whole process: statements must never run inside another caller's transaction. */
describe('SQLite: one queue for every statement', () => {
  let store: TempStore;
  let db: Db;
  beforeAll(async () => {
    store = tempSqlite('queue.sqlite');
    db = await Db.open({ url: store.url });
    await db.execute(`CREATE TABLE queue_test (name VARCHAR(64) NOT NULL PRIMARY KEY)`);
  });
  afterAll(async () => {
    await db?.close();
    await store?.drop();
  });

  const names = async () => (await db.query<{ name: string }>(`SELECT name FROM queue_test ORDER BY name`)).map((r) => r.name);

  it('a read during an open transaction does not see its rows, and a plain write survives its rollback', async () => {
    let inside!: () => void;
    const opened = new Promise<void>((r) => (inside = r));
    let fail!: () => void;
    const failing = new Promise<void>((r) => (fail = r));
    const tx = db
      .transaction(async (t) => {
        await t.execute(`INSERT INTO queue_test (name) VALUES ('uncommitted')`);
        inside();
        await failing;
        throw new Error('rolled back on purpose');
      })
      .catch((e: Error) => e.message);
    await opened;
    // Sent while the transaction is open (it holds the one connection, waiting on `failing`).
    const read = names();
    const write = db.execute(`INSERT INTO queue_test (name) VALUES ('plain')`);
    const reads = db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM queue_test WHERE name = 'uncommitted'`);
    fail();
    expect(await tx).toBe('rolled back on purpose');
    expect(await read).toEqual([]);
    expect(await write).toBe(1);
    expect(Number((await reads)[0].n)).toBe(0);
    expect(await names()).toEqual(['plain']);
  });

  it('a transaction reading through the Db (not its tx) still sees its own rows instead of waiting on itself', async () => {
    const seen = await db.transaction(async (t) => {
      await t.execute(`INSERT INTO queue_test (name) VALUES ('own')`);
      return names();
    });
    expect(seen).toEqual(['own', 'plain']);
  });
});
