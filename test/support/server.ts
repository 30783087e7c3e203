import { loadConfig } from '../../src/config.js';
import { countStatements } from '../../src/data/statement-log.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { createClientTables, insertDemoClientRows } from '../../src/remote/client-demo.js';
import { startApp, type App } from '../../src/server/app.js';
import { tempClientStore, tempOperationalStore, type ClientKind, type OperationalKind, type TempStore } from './stores.js';

export interface GraphQLResponse<T = Record<string, any>> {
  data?: T;
  errors?: { message: string; extensions?: { code?: string; [k: string]: unknown }; path?: (string | number)[] }[];
}

export interface TestServer {
  app: App;
  url: string;
  clientUrl: string;
  /** POSTs an operation to the real HTTP endpoint (with extra headers, e.g. Authorization). */
  gql<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<GraphQLResponse<T>>;
  /** Like gql, but fails the test on any error and returns data. */
  ok<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<T>;
  /** Runs an operation and counts the SQL statements the operational store received meanwhile. */
  countedGql<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<{ res: GraphQLResponse<T>; statements: string[] }>;
  close(): Promise<void>;
}

/**
 * Starts the real subgraph (HTTP, Apollo Server, engine, stores) on a fresh operational store and
 * a fresh client store holding the demo employees and bank accounts.
 */
export async function startTestServer(
  kind: OperationalKind,
  options: { client?: ClientKind; env?: Record<string, string>; seedDemo?: boolean; log?: Logger } = {},
): Promise<TestServer> {
  const op: TempStore = await tempOperationalStore(kind);
  const client: TempStore = await tempClientStore(options.client ?? 'sqlite');
  await createClientTables(client.url);
  await insertDemoClientRows(client.url);
  const env: NodeJS.ProcessEnv = {
    // Suites about other features run open; access-control suites set AUTH_MODE and keys in `env`.
    AUTH_MODE: 'none',
    DATABASE_URL: op.url,
    CLIENT_DATABASE_URL: client.url,
    PORT: '0',
    SEED_DEMO: options.seedDemo ? 'true' : 'false',
    GC_INTERVAL_SECONDS: '0',
    REVALIDATE_INTERVAL_SECONDS: '0',
    REMOTE_RETRIES: '0',
    // Every operation compiled by graphql-jit from its first run: suites send most documents once,
    // and the compiled path is the one routers exercise (test/compiled-execution.test.ts covers the default).
    EXECUTION_COMPILE_AFTER: '0',
    ...options.env,
  };
  const log = options.log ?? createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const app = await startApp(loadConfig(env), log, env);
  const gql = async <T>(
    query: string,
    variables?: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): Promise<GraphQLResponse<T>> => {
    const res = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as GraphQLResponse<T>;
  };
  return {
    app,
    url: app.url,
    clientUrl: client.url,
    gql,
    async ok<T>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>) {
      const res = await gql<T>(query, variables, headers);
      if (res.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(res.errors, null, 1)}`);
      return res.data as T;
    },
    async countedGql<T>(query: string, variables?: Record<string, unknown>) {
      const { result, statements } = await countStatements(app.db.statementLog, () => gql<T>(query, variables));
      return { res: result, statements };
    },
    async close() {
      await app.stop();
      await op.drop();
      await client.drop();
    },
  };
}

/** The error codes of a response, in order. */
export const codes = (res: GraphQLResponse) => (res.errors ?? []).map((e) => e.extensions?.code);

/**
 * POSTs a query and reads the answer with whatever HTTP status it came with. The timeout is only a
 * safety net, so a broken build fails instead of hanging; never an assertion.
 */
export async function postQuery(url: string, query: string, safetyNetMs = 30_000): Promise<{ status: number; body: GraphQLResponse }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
    signal: AbortSignal.timeout(safetyNetMs),
  });
  return { status: res.status, body: (await res.json()) as GraphQLResponse };
}
