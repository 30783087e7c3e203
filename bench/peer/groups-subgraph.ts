import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import Database from 'better-sqlite3';
import { Kind, parse, type GraphQLResolveInfo } from 'graphql';
import mysql from 'mysql2/promise';

/**
 * The federation peer's groups subgraph: what a team would write without the integrity subgraph.
 * One batched SQL query over the same tables returns a page of groups with their clusters and
 * logical cluster; the owner is only an `Employee @key(fields: "employeeId")` stub that the
 * gateway resolves through the employees subgraph. It has no cache, so `status` is always FRESH
 * when the document names an owner (the field exists so both sides answer the same query).
 */

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

  type Query {
    deploymentIntentGroups(project: String!, first: Int = 100, after: ID): [DeploymentIntentGroup!]!
  }
  enum RemoteRefStatus {
    FRESH
    DELETED
    MISSING
  }
  type DeploymentIntentGroup @key(fields: "id") {
    id: ID!
    name: String!
    description: String
    owner: EmployeeRef
    clusters: [Cluster!]!
    logicalCluster: LogicalCluster
  }
  type Cluster {
    name: String!
  }
  type LogicalCluster {
    name: String!
  }
  type EmployeeRef {
    status: RemoteRefStatus!
    entity: Employee
  }
  type Employee @key(fields: "employeeId", resolvable: false) {
    employeeId: ID!
  }
`);

interface Row {
  id: string;
  name: string;
  description: string | null;
  owner: string | null;
  lcname: string | null;
  cpath: string | null;
  cname: string | null;
}

interface Group {
  id: string;
  name: string;
  description: string | null;
  owner: { status: 'FRESH'; entity: { employeeId: string } } | null;
  clusters: { name: string }[];
  logicalCluster: { name: string } | null;
}

type Reader = (params: unknown[]) => Promise<Row[]>;

/** The page statement; the description is extracted only when a query asks for it. */
function pageSql(json: (path: string) => string, limitAfter: boolean, description: boolean): string {
  return `SELECT g.id, g.name, ${description ? json('$.description') : 'NULL'} AS description, ${json('$.owner.employeeId')} AS owner, lc.name AS lcname, fc.path AS cpath, c.name AS cname
    FROM (SELECT id, name, content FROM resource
          WHERE kind = 'DeploymentIntentGroup' AND natural_key LIKE ? ESCAPE '!'${limitAfter ? ' AND id > ?' : ''}
          ORDER BY id LIMIT ?) g
    LEFT JOIN resource_ref fl ON fl.from_id = g.id AND fl.path = 'logicalCluster'
    LEFT JOIN resource lc ON lc.id = fl.to_id
    LEFT JOIN resource_ref fc ON fc.from_id = g.id AND fc.path LIKE 'clusters[%'
    LEFT JOIN resource c ON c.id = fc.to_id
    ORDER BY g.id`;
}

/** The page reader on the operational store: better-sqlite3 or a mysql2 pool, prepared statements. */
async function openReader(
  url: string,
): Promise<{ read: (after: boolean, description: boolean) => Reader; close: () => Promise<void>; statements: () => number }> {
  let statements = 0;
  if (url.startsWith('sqlite:')) {
    const db = new Database(url.slice('sqlite:'.length), { fileMustExist: true });
    db.pragma('busy_timeout = 10000');
    const json = (path: string) => `json_extract(g.content, '${path}')`;
    const stmts = [false, true].map((d) => [db.prepare(pageSql(json, false, d)), db.prepare(pageSql(json, true, d))]);
    return {
      read: (after, description) => async (params) => {
        statements++;
        return stmts[description ? 1 : 0][after ? 1 : 0].all(...params) as Row[];
      },
      close: async () => void db.close(),
      statements: () => statements,
    };
  }
  const pool = mysql.createPool({ uri: url.replace(/^mariadb:/, 'mysql:'), connectionLimit: 10, charset: 'utf8mb4' });
  const json = (path: string) => `JSON_VALUE(g.content, '${path}')`;
  const sql = [false, true].map((d) => [pageSql(json, false, d), pageSql(json, true, d)]);
  return {
    read: (after, description) => async (params) => {
      statements++;
      // mysql2's prepared statements want LIMIT as a string.
      return (
        await pool.execute(sql[description ? 1 : 0][after ? 1 : 0], params.map((p) => (typeof p === 'number' ? String(p) : p)) as string[])
      )[0] as Row[];
    },
    close: () => pool.end(),
    statements: () => statements,
  };
}

const escapeLike = (s: string) => s.replace(/[!%_]/g, (m) => `!${m}`);
const clusterIndex = (path: string) => Number(path.slice(path.indexOf('[') + 1, -1));

export async function startPeerGroups(
  databaseUrl: string,
  port = 0,
): Promise<{ url: string; statements: () => number; stop: () => Promise<void> }> {
  const reader = await openReader(databaseUrl);
  const resolvers = {
    Query: {
      deploymentIntentGroups: async (
        _: unknown,
        args: { project: string; first?: number | null; after?: string | null },
        __: unknown,
        info: GraphQLResolveInfo,
      ) => {
        const description = info.fieldNodes.some((n) =>
          n.selectionSet?.selections.some((f) => f.kind === Kind.FIELD && f.name.value === 'description'),
        );
        const prefix = `${escapeLike(JSON.stringify([args.project]).slice(0, -1))},%`;
        const params: unknown[] = args.after ? [prefix, args.after, args.first ?? 100] : [prefix, args.first ?? 100];
        const rows = await reader.read(!!args.after, description)(params);
        const groups = new Map<string, Group & { order: number[] }>();
        for (const r of rows) {
          let g = groups.get(r.id);
          if (!g) {
            g = {
              id: r.id,
              name: r.name,
              description: r.description,
              owner: r.owner ? { status: 'FRESH', entity: { employeeId: r.owner } } : null,
              clusters: [],
              logicalCluster: r.lcname === null ? null : { name: r.lcname },
              order: [],
            };
            groups.set(r.id, g);
          }
          if (r.cpath !== null && r.cname !== null) {
            const i = clusterIndex(r.cpath);
            let at = g.order.length;
            while (at > 0 && g.order[at - 1] > i) at--;
            g.order.splice(at, 0, i);
            g.clusters.splice(at, 0, { name: r.cname });
          }
        }
        return [...groups.values()];
      },
    },
  };
  const server = new ApolloServer({
    schema: buildSubgraphSchema([{ typeDefs, resolvers }]),
    plugins: [ApolloServerPluginCacheControlDisabled()],
  });
  const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port } });
  return {
    url,
    statements: reader.statements,
    stop: async () => {
      await server.stop();
      await reader.close();
    },
  };
}
