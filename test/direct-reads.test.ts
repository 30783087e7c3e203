import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Db } from '../src/data/db.js';
import { countStatements } from '../src/data/statement-log.js';
import { StoreUnavailableError } from '../src/data/store-errors.js';
import { tempMysql, tempSqlite, type TempStore } from './support/stores.js';

/**
 * Reads outside transactions skip TypeORM's runner (src/data/direct-reads.ts): they must still be
 * counted, and on MariaDB run under the session's statement time limit (set by the pool's
 * 'acquire' hook) and fail as STORE_UNAVAILABLE when the server ends them.
 */
describe('direct reads on MariaDB', () => {
  let store: TempStore;
  let db: Db;
  beforeAll(async () => {
    store = await tempMysql('direct_reads');
    db = await Db.open({ url: store.url, statementTimeoutMs: 1000 });
    await db.migrate();
  });
  afterAll(async () => {
    await db?.close();
    await store?.drop();
  });

  it('run with the statement time limit on their connection, are counted, and a slow one ends as a store outage', async () => {
    const { result, statements } = await countStatements(db.statementLog, () =>
      db.query<{ limit: number | string }>(`SELECT @@SESSION.max_statement_time AS \`limit\``),
    );
    expect(Number(result[0].limit)).toBe(1);
    expect(statements).toHaveLength(1);
    const slowScalar = await db.query(`SELECT SLEEP(3) AS s`).catch((e: unknown) => e);
    expect(slowScalar).toBeInstanceOf(StoreUnavailableError);
    expect(String((slowScalar as Error).message)).not.toMatch(/max_statement_time|mysql|maria/i);
  });

  it('return rows as value arrays', async () => {
    expect(await db.queryValues(`SELECT 1 AS a, 'x' AS b`)).toEqual([[1, 'x']]);
  });
});

describe('direct reads on SQLite', () => {
  let store: TempStore;
  let db: Db;
  beforeAll(async () => {
    store = tempSqlite('direct-reads.sqlite');
    db = await Db.open({ url: store.url });
  });
  afterAll(async () => {
    await db?.close();
    await store?.drop();
  });

  it('are counted, bind booleans, and return value arrays', async () => {
    const { result, statements } = await countStatements(db.statementLog, () => db.query<{ t: number }>(`SELECT ? AS t`, [true]));
    expect(result).toEqual([{ t: 1 }]);
    expect(statements).toEqual([`SELECT ? AS t`]);
    expect(await db.queryValues(`SELECT 1 AS a, 'x' AS b`)).toEqual([[1, 'x']]);
  });
});
