import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRelationshipSchema } from '../src/model/load.js';
import {
  DEMO_BANK_ACCOUNTS,
  DEMO_EMPLOYEES,
  createClientTables,
  ensureDemoClientStore,
  execClientSql,
  insertDemoClientRows,
  type DemoEmployee,
} from '../src/remote/client-demo.js';
import { canonicalKeyJson, hashKey } from '../src/remote/hash.js';
import { GraphqlSource } from '../src/remote/sources/graphql-source.js';
import { closeSources, createSources } from '../src/remote/sources/registry.js';
import { SqlSource } from '../src/remote/sources/sql-source.js';
import { SourceUnavailableError, type RemoteEntity } from '../src/remote/sources/source.js';
import { CLIENT_KINDS, tempClientStore, type TempStore } from './support/stores.js';

const schema = loadRelationshipSchema();
const Employee = schema.remoteType('Employee');
const BankAccount = schema.remoteType('BankAccount');

// Enough rows that 1,200 keys really hit rows in every chunk, not just misses.
const BULK: DemoEmployee[] = Array.from({ length: 1100 }, (_, i) => ({
  employeeId: `bulk-${String(i).padStart(4, '0')}`,
  name: `Bulk ${i}`,
  email: null,
  department: i % 2 ? 'Odd' : 'Even',
}));

describe.each(CLIENT_KINDS)('SqlSource on %s', (kind) => {
  let store: TempStore;
  let source: SqlSource;
  const queries: string[] = [];

  beforeAll(async () => {
    store = await tempClientStore(kind);
    await createClientTables(store.url);
    await insertDemoClientRows(store.url);
    await insertDemoClientRows(store.url, { employees: BULK });
    source = new SqlSource('client', store.url);
    source.onQuery((q) => queries.push(q));
  });

  afterAll(async () => {
    await source?.close();
    await store?.drop();
  });

  it('fetches single-field keys, maps columns to fields, leaves missing keys out', async () => {
    const before = queries.length;
    const found = await source.fetchMany(Employee, [
      { employeeId: 'e-1' },
      { employeeId: 'e-20' },
      { employeeId: 'nobody' },
      { employeeId: 'e-1' },
    ]);
    expect(queries.length - before).toBe(1);
    expect(queries.at(-1)).toMatch(/\bIN\b/);
    expect(found.size).toBe(2);
    expect(found.get(hashKey({ employeeId: 'e-1' }))).toEqual(DEMO_EMPLOYEES[0]);
    // e-20 has NULL email and department: they come back as null, not as "null" or undefined.
    expect(found.get(hashKey({ employeeId: 'e-20' }))).toEqual({
      employeeId: 'e-20',
      name: DEMO_EMPLOYEES[19].name,
      email: null,
      department: null,
    });
    expect(found.has(hashKey({ employeeId: 'nobody' }))).toBe(false);
  });

  it('fetches composite keys as row values, not as a cross product', async () => {
    const found = await source.fetchMany(BankAccount, [
      { number: 'ACC-1001', owner: 'e-1' },
      { number: 'ACC-1001', owner: 'e-2' },
      { number: 'ACC-2001', owner: 'e-3' },
      // Both parts exist, but not together: a per-column IN would wrongly match it.
      { number: 'ACC-2001', owner: 'e-1' },
      { number: 'ACC-9999', owner: 'e-1' },
    ]);
    expect([...found.keys()].sort()).toEqual(
      [
        { number: 'ACC-1001', owner: 'e-1' },
        { number: 'ACC-1001', owner: 'e-2' },
        { number: 'ACC-2001', owner: 'e-3' },
      ]
        .map(hashKey)
        .sort(),
    );
    expect(found.get(hashKey({ number: 'ACC-1001', owner: 'e-2' }))).toEqual(DEMO_BANK_ACCOUNTS[1]);
    expect(found.get(hashKey({ owner: 'e-13', number: 'ACC-4001' }))).toBeUndefined();
    const nulls = await source.fetchMany(BankAccount, [{ owner: 'e-13', number: 'ACC-4001' }]);
    expect(nulls.get(hashKey({ number: 'ACC-4001', owner: 'e-13' }))).toEqual(DEMO_BANK_ACCOUNTS[7]);
  });

  it('sends one query per chunk of 500 keys', async () => {
    const keys = [
      ...BULK.map((e) => ({ employeeId: e.employeeId })),
      ...DEMO_EMPLOYEES.map((e) => ({ employeeId: e.employeeId })),
      ...Array.from({ length: 80 }, (_, i) => ({ employeeId: `missing-${i}` })),
    ];
    expect(keys).toHaveLength(1200);
    const before = queries.length;
    const found = await source.fetchMany(Employee, keys);
    expect(queries.length - before).toBe(3);
    expect(found.size).toBe(1120);
    expect(found.get(hashKey({ employeeId: 'bulk-1099' }))).toMatchObject({ name: 'Bulk 1099', department: 'Odd' });
    expect(found.has(hashKey({ employeeId: 'missing-0' }))).toBe(false);

    const accounts = DEMO_BANK_ACCOUNTS.map((a) => ({ number: a.number, owner: a.owner }));
    const compositeKeys = [...accounts, ...Array.from({ length: 1192 }, (_, i) => ({ number: `N-${i}`, owner: 'e-1' }))];
    const mid = queries.length;
    const foundAccounts = await source.fetchMany(BankAccount, compositeKeys);
    expect(queries.length - mid).toBe(3);
    expect(foundAccounts.size).toBe(DEMO_BANK_ACCOUNTS.length);
  });

  it('sends no query for no keys', async () => {
    const before = queries.length;
    expect((await source.fetchMany(Employee, [])).size).toBe(0);
    expect(queries.length).toBe(before);
  });

  it('pages through a type in key order', async () => {
    const all: RemoteEntity[] = [];
    let after: string | undefined;
    for (let page = 0; page < 500; page++) {
      const rows = await source.list(Employee, 250, after);
      all.push(...rows);
      if (rows.length < 250) break;
      after = rows.at(-1)!.employeeId as string;
    }
    const ids = all.map((e) => e.employeeId as string);
    expect(ids).toHaveLength(BULK.length + DEMO_EMPLOYEES.length);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids)).toEqual(new Set([...BULK, ...DEMO_EMPLOYEES].map((e) => e.employeeId)));
    expect(all.find((e) => e.employeeId === 'e-3')).toEqual(DEMO_EMPLOYEES[2]);

    const firstThree = await source.list(Employee, 3);
    expect(firstThree.map((e) => e.employeeId)).toEqual(ids.slice(0, 3));
    const nextThree = await source.list(Employee, 3, ids[2]);
    expect(nextThree.map((e) => e.employeeId)).toEqual(ids.slice(3, 6));
    expect(await source.list(Employee, 5, ids.at(-1))).toEqual([]);
  });

  it('pages a composite key without skipping rows that share the first field', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 20; page++) {
      const rows = await source.list(BankAccount, 1, after);
      if (rows.length === 0) break;
      seen.push(`${rows[0].number}/${rows[0].owner}`);
      after = canonicalKeyJson({ number: rows[0].number as string, owner: rows[0].owner as string });
    }
    expect(seen.sort()).toEqual(DEMO_BANK_ACCOUNTS.map((a) => `${a.number}/${a.owner}`).sort());
  });

  it('reports a missing table as SourceUnavailableError and recovers when it is back', async () => {
    await execClientSql(store.url, ['ALTER TABLE employee RENAME TO employee_gone']);
    try {
      const err = await source.fetchMany(Employee, [{ employeeId: 'e-1' }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SourceUnavailableError);
      expect((err as SourceUnavailableError).source).toBe('client');
      expect((err as Error).message).toBe('client store unavailable: table "employee" does not exist');
      await expect(source.list(Employee, 5)).rejects.toBeInstanceOf(SourceUnavailableError);
    } finally {
      await execClientSql(store.url, ['ALTER TABLE employee_gone RENAME TO employee']);
    }
    const found = await source.fetchMany(Employee, [{ employeeId: 'e-1' }]);
    expect(found.get(hashKey({ employeeId: 'e-1' }))).toEqual(DEMO_EMPLOYEES[0]);
  });

  it('sees rows changed by other connections', async () => {
    const key = { employeeId: 'e-2' };
    expect((await source.fetchMany(Employee, [key])).get(hashKey(key))).toMatchObject({ department: 'Engineering' });
    await execClientSql(store.url, ["UPDATE employee SET department = 'Moved' WHERE employee_id = 'e-2'"]);
    expect((await source.fetchMany(Employee, [key])).get(hashKey(key))).toMatchObject({ department: 'Moved' });
    await execClientSql(store.url, ["DELETE FROM employee WHERE employee_id = 'e-2'"]);
    expect((await source.fetchMany(Employee, [key])).has(hashKey(key))).toBe(false);
  });
});

describe('SqlSource when the store cannot be reached', () => {
  it('turns a refused connection into SourceUnavailableError naming the cause', async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    for (const url of ['mysql://root@127.0.0.1:1/nothing', 'postgres://postgres@127.0.0.1:1/nothing']) {
      const source = new SqlSource('client', url);
      try {
        const err = await source.fetchMany(Employee, [{ employeeId: 'e-1' }]).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(SourceUnavailableError);
        // Words, not the driver's text (no host, port or user).
        expect((err as Error).message).toBe('client store unavailable: refused the connection');
      } finally {
        await source.close();
      }
    }
  });

  it('reports a sqlite file that does not exist instead of creating it', async () => {
    const store = await tempClientStore('sqlite');
    const source = new SqlSource('client', store.url);
    try {
      const err = await source.fetchMany(Employee, [{ employeeId: 'e-1' }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SourceUnavailableError);
      expect((err as Error).message).toMatch(/does not exist/);
    } finally {
      await source.close();
      await store.drop();
    }
  });

  it('rejects a URL it cannot use', () => {
    expect(() => new SqlSource('client', 'oracle://x')).toThrow(/mysql:\/\/, postgres:\/\/ or sqlite:/);
  });
});

describe('the demo client store', () => {
  it('creates a missing sqlite file with the contract tables and demo rows, once', async () => {
    const store = await tempClientStore('sqlite');
    const source = new SqlSource('client', store.url);
    try {
      expect(await ensureDemoClientStore(store.url)).toBe(true);
      const employees = await source.list(Employee, 100);
      expect(employees).toHaveLength(DEMO_EMPLOYEES.length);
      expect(new Set(employees.map((e) => e.employeeId))).toEqual(new Set(DEMO_EMPLOYEES.map((e) => e.employeeId)));
      expect(await source.list(BankAccount, 100)).toHaveLength(DEMO_BANK_ACCOUNTS.length);

      // An existing file belongs to the client: left as it is.
      await execClientSql(store.url, ["DELETE FROM employee WHERE employee_id = 'e-5'"]);
      expect(await ensureDemoClientStore(store.url)).toBe(false);
      expect(await source.list(Employee, 100)).toHaveLength(DEMO_EMPLOYEES.length - 1);
    } finally {
      await source.close();
      await store.drop();
    }
  });

  it('leaves server stores alone', async () => {
    expect(await ensureDemoClientStore('postgres://postgres@127.0.0.1:1/never-contacted')).toBe(false);
  });

  it('has demo rows that fit the contract', () => {
    expect(DEMO_EMPLOYEES.map((e) => e.employeeId)).toEqual(Array.from({ length: 20 }, (_, i) => `e-${i + 1}`));
    const owners = new Set(DEMO_BANK_ACCOUNTS.map((a) => a.owner));
    expect(owners.size).toBeGreaterThan(3);
    for (const owner of owners) expect(DEMO_EMPLOYEES.some((e) => e.employeeId === owner)).toBe(true);
    const keys = DEMO_BANK_ACCOUNTS.map((a) => `${a.number}/${a.owner}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('createSources', () => {
  const resilience = { timeoutMs: 2000, retries: 0, breakerThreshold: 5, halfOpenAfterMs: 1000 };

  it('uses the default client URL when the variable is unset, and the variable when set', async () => {
    const store = await tempClientStore('sqlite');
    await ensureDemoClientStore(store.url);
    const byDefault = createSources(schema, { env: {}, defaultClientUrl: store.url, resilience });
    const byEnv = createSources(schema, {
      env: { CLIENT_DATABASE_URL: `${store.url}.elsewhere` },
      defaultClientUrl: store.url,
      resilience,
    });
    try {
      expect([...byDefault.keys()]).toEqual(['client']);
      const client = byDefault.get('client')!;
      expect(client.state()).toBe('closed');
      expect((await client.fetchMany(Employee, [{ employeeId: 'e-4' }])).get(hashKey({ employeeId: 'e-4' }))).toEqual(DEMO_EMPLOYEES[3]);
      await expect(byEnv.get('client')!.fetchMany(Employee, [{ employeeId: 'e-4' }])).rejects.toThrow(
        'client store unavailable: the database file does not exist',
      );
    } finally {
      await closeSources(byDefault);
      await closeSources(byEnv);
      await store.drop();
    }
  });

  it('builds a GraphQL source from a url and refuses one without a URL', () => {
    const withGraphql = {
      ...schema,
      sources: new Map([
        ['hr', { name: 'hr', type: 'graphql' as const, url: 'http://127.0.0.1:4002/graphql' }],
        ['ledger', { name: 'ledger', type: 'graphql' as const, urlEnv: 'LEDGER_URL' }],
      ]),
    };
    expect(() => createSources(withGraphql, { env: {}, defaultClientUrl: 'sqlite:x', resilience })).toThrow(
      /source "ledger" has no URL: set LEDGER_URL/,
    );
    const sources = createSources(withGraphql, {
      env: { LEDGER_URL: 'http://127.0.0.1:4003/graphql' },
      defaultClientUrl: 'sqlite:x',
      resilience,
    });
    expect(sources.get('hr')!.inner).toBeInstanceOf(GraphqlSource);
    expect((sources.get('ledger')!.inner as GraphqlSource).url).toBe('http://127.0.0.1:4003/graphql');
  });
});
