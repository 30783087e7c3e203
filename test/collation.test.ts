import { afterAll, describe, expect, it } from 'vitest';
import { Db } from '../src/data/db.js';
import { DomainError } from '../src/engine/errors.js';
import { createClientTables, insertDemoClientRows } from '../src/remote/client-demo.js';
import { openGcEngine, type GcEngine } from './support/gc-engine.js';
import { OPERATIONAL_KINDS, tempMysql, tempSqlite, type TempStore } from './support/stores.js';

/** Names and natural keys compare byte for byte on every store, whatever the database's default collation. */
describe.each(OPERATIONAL_KINDS)('identity is exact on %s', (kind) => {
  const stores: TempStore[] = [];
  let g: GcEngine | undefined;
  afterAll(async () => {
    await g?.close();
    for (const s of stores) await s.drop();
  });

  it('creates C1 and c1 as two resources and keeps them apart in lookups and listings', async () => {
    // On MariaDB: a database created with the server's default collation (case-insensitive here).
    const op = kind === 'sqlite' ? tempSqlite('op.sqlite') : await tempMysql('coll', { serverDefaultCollation: true });
    const client = tempSqlite('client.sqlite');
    stores.push(op, client);
    await createClientTables(client.url);
    await insertDemoClientRows(client.url);
    const setup = await Db.open({ url: op.url });
    try {
      await setup.migrate();
      if (kind === 'mariadb') {
        const [db] = await setup.query<{ c: string }>(
          `SELECT DEFAULT_COLLATION_NAME AS c FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()`,
        );
        expect(db.c).not.toBe('utf8mb4_bin'); // the test means something only on a non-binary default
        const columns = await setup.query<{ t: string; c: string; coll: string }>(
          `SELECT TABLE_NAME AS t, COLUMN_NAME AS c, COLLATION_NAME AS coll FROM information_schema.COLUMNS
           WHERE TABLE_SCHEMA = DATABASE() AND COLLATION_NAME IS NOT NULL AND TABLE_NAME <> 'typeorm_migrations'`,
        );
        expect(columns.filter((x) => x.coll !== 'utf8mb4_bin')).toEqual([]);
        expect(columns.some((x) => x.t === 'resource' && x.c === 'natural_key')).toBe(true);
      }
    } finally {
      await setup.close();
    }
    g = await openGcEngine({ url: op.url, clientUrl: client.url, leaseTtlSeconds: 30, gcBatchSize: 50 });
    const { engine } = g;
    const upper = await engine.create('ClusterProvider', { name: 'C1' });
    const lower = await engine.create('ClusterProvider', { name: 'c1' });
    expect(upper.id).not.toBe(lower.id);
    await engine.create('Cluster', { provider: 'C1', name: 'x' });
    await engine.create('Cluster', { provider: 'c1', name: 'x' });
    await engine.create('Cluster', { provider: 'c1', name: 'X' });
    const again = await engine.create('ClusterProvider', { name: 'C1' }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(DomainError);
    expect((again as DomainError).code).toBe('ALREADY_EXISTS');

    expect((await engine.findByIdentity('ClusterProvider', { name: 'C1' }))?.id).toBe(upper.id);
    expect((await engine.findByIdentity('ClusterProvider', { name: 'c1' }))?.id).toBe(lower.id);
    const names = async (provider: string) =>
      (await engine.list('Cluster', { first: 10 }, { provider })).map((r) => `${r.content.provider}/${r.name}`).sort();
    expect(await names('C1')).toEqual(['C1/x']);
    expect(await names('c1')).toEqual(['c1/X', 'c1/x']);
  });
});
