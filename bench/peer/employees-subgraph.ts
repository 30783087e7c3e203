import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import Database from 'better-sqlite3';
import DataLoader from 'dataloader';
import { parse } from 'graphql';

/**
 * The federation peer's employees subgraph: the owner of the `employee` table (the client store)
 * resolves the gateway's `_entities` call with one batched query per request (a DataLoader per
 * request collects every representation of the call).
 */

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

  type Employee @key(fields: "employeeId") {
    employeeId: ID!
    name: String!
    email: String
    department: String
  }
`);

interface Employee {
  employeeId: string;
  name: string;
  email: string | null;
  department: string | null;
}

interface Context {
  employees: DataLoader<string, Employee | null>;
}

export async function startPeerEmployees(
  clientUrl: string,
  port = 0,
): Promise<{ url: string; statements: () => number; stop: () => Promise<void> }> {
  if (!clientUrl.startsWith('sqlite:')) throw new Error('the peer employees subgraph reads a SQLite client store');
  const db = new Database(clientUrl.slice('sqlite:'.length), { readonly: true, fileMustExist: true });
  let statements = 0;
  const byIds = (ids: readonly string[]): Employee[] => {
    statements++;
    return db
      .prepare(
        `SELECT employee_id AS employeeId, name, email, department FROM employee WHERE employee_id IN (${ids.map(() => '?').join(', ')})`,
      )
      .all(...ids) as Employee[];
  };
  const resolvers = {
    Employee: {
      __resolveReference: (ref: { employeeId: string }, ctx: Context) => ctx.employees.load(ref.employeeId),
    },
  };
  const server = new ApolloServer<Context>({
    schema: buildSubgraphSchema([{ typeDefs, resolvers: resolvers as never }]),
    plugins: [ApolloServerPluginCacheControlDisabled()],
  });
  const { url } = await startStandaloneServer(server, {
    listen: { host: '127.0.0.1', port },
    context: async () => ({
      employees: new DataLoader<string, Employee | null>(
        async (ids) => {
          const found = new Map(byIds(ids).map((e) => [e.employeeId, e]));
          return ids.map((id) => found.get(id) ?? null);
        },
        { maxBatchSize: 900 },
      ),
    }),
  });
  return {
    url,
    statements: () => statements,
    stop: async () => {
      await server.stop();
      db.close();
    },
  };
}
