import { readFileSync } from 'node:fs';
import DataLoader from 'dataloader';
import { loadRelationshipSchema } from '../../src/model/load.js';
import { hashKey, type RemoteKey } from '../../src/remote/hash.js';
import type { RemoteEntity } from '../../src/remote/sources/source.js';
import { SqlSource } from '../../src/remote/sources/sql-source.js';
import { groupBy } from '../../src/util/group-by.js';
import { serveSubgraph } from '../supergraph/serve-subgraph.js';

/**
 * A small subgraph that OWNS `Employee` and `BankAccount`, served from the same client store the
 * integrity subgraph refers to (any store SqlSource reads: SQLite, MySQL/MariaDB, PostgreSQL).
 * It adds what the integrity subgraph's cache does not hold: `Employee.bankAccounts` and
 * `BankAccount.holder`. Every lookup is batched per request.
 */

export const EMPLOYEES_SDL = readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8');

interface Context {
  employee: DataLoader<string, RemoteEntity | null>;
  account: DataLoader<RemoteKey, RemoteEntity | null, string>;
  accountsOf: DataLoader<string, RemoteEntity[]>;
}

export interface EmployeesSubgraph {
  url: string;
  stop(): Promise<void>;
}

export async function startEmployeesSubgraph(options: { clientUrl: string; port?: number; host?: string }): Promise<EmployeesSubgraph> {
  const schema = loadRelationshipSchema();
  const employeeType = schema.remoteType('Employee');
  const accountType = schema.remoteType('BankAccount');
  const store = new SqlSource('client', options.clientUrl);

  const context = async (): Promise<Context> => ({
    employee: new DataLoader(async (ids) => {
      const found = await store.fetchMany(
        employeeType,
        ids.map((employeeId) => ({ employeeId })),
      );
      return ids.map((employeeId) => found.get(hashKey({ employeeId })) ?? null);
    }),
    account: new DataLoader(
      async (keys) => {
        const found = await store.fetchMany(accountType, [...keys]);
        return keys.map((k) => found.get(hashKey(k)) ?? null);
      },
      { cacheKeyFn: (k) => hashKey(k) },
    ),
    accountsOf: new DataLoader(async (owners) => {
      const byOwner = groupBy(await store.fetchWhere(accountType, 'owner', owners), (a) => a.owner);
      return owners.map((o) => byOwner.get(o) ?? []);
    }),
  });

  const resolvers = {
    Query: {
      employee: (_: unknown, args: { employeeId: string }, ctx: Context) => ctx.employee.load(args.employeeId),
      bankAccount: (_: unknown, args: { number: string; owner: string }, ctx: Context) => ctx.account.load(args),
    },
    Employee: {
      __resolveReference: (ref: { employeeId: string }, ctx: Context) => ctx.employee.load(String(ref.employeeId)),
      bankAccounts: (e: RemoteEntity, _: unknown, ctx: Context) => ctx.accountsOf.load(String(e.employeeId)),
    },
    BankAccount: {
      __resolveReference: (ref: { number: string; owner: string }, ctx: Context) =>
        ctx.account.load({ number: String(ref.number), owner: String(ref.owner) }),
      holder: (a: RemoteEntity, _: unknown, ctx: Context) => ctx.employee.load(String(a.owner)),
    },
  };

  const served = await serveSubgraph({ sdl: EMPLOYEES_SDL, resolvers, context, port: options.port, host: options.host });
  return {
    url: served.url,
    async stop() {
      await served.stop();
      await store.close();
    },
  };
}
