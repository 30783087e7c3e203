import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { unwrapResolverError } from '@apollo/server/errors';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import type { GraphQLContext } from '../../resolvers/context.js';
import { StoreUnavailableError } from '../data/store-errors.js';
import { DomainError } from '../engine/errors.js';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../logger.js';
import { register } from '../observability/metrics.js';
import { runInScope } from '../observability/request-scope.js';
import { formatError } from './errors.js';
import { observeRequests } from './observe-requests.js';
import { buildSchema } from './schema.js';

export interface HttpServer {
  url: string;
  server: Server;
  stop(): Promise<void>;
}

/** Logs what the response hides: internal errors with their stack. */
function errorLogging(log: Logger): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, operationName }) {
          for (const e of errors) {
            const original = unwrapResolverError(e);
            if (original instanceof DomainError) log.debug({ code: original.code, operationName }, original.message);
            else if (original instanceof StoreUnavailableError) log.warn({ err: original, cause: original.cause, operationName }, original.message);
            else if (!e.extensions?.code || e.extensions.code === 'INTERNAL_SERVER_ERROR') log.error({ err: original, operationName }, 'request failed');
          }
        },
      };
    },
  };
}

/**
 * Readiness: a real read of the hottest table within `timeoutMs`, so a table lock or a hung link
 * fails it as it fails requests (a bare `SELECT 1` would pass).
 */
async function storeAnswers(engine: Engine, timeoutMs: number, log: Logger): Promise<boolean> {
  try {
    const scope = { deadline: Date.now() + timeoutMs, operation: 'health', statements: 0, outcome: 'ok' };
    await runInScope(scope, () => engine.db.query('SELECT id FROM resource LIMIT 1'));
    return true;
  } catch (err) {
    log.warn({ err }, 'readiness check failed');
    return false;
  }
}

export interface HttpOptions {
  host: string;
  port: number;
  log: Logger;
  /** Deadline of one request's store work. */
  requestTimeoutMs: number;
  /** Longest wait for /health's read. */
  healthTimeoutMs: number;
}

/**
 * Apollo Server 5 on express: GraphQL and the Sandbox landing page at /graphql; /health
 * (readiness: the store answers), /health/live (liveness: the process answers) and /metrics beside it.
 */
export async function startHttp(engine: Engine, options: HttpOptions): Promise<HttpServer> {
  const app = express();
  const server = createServer(app);
  const observed = observeRequests(options.log, { requestTimeoutMs: options.requestTimeoutMs });
  const apollo = new ApolloServer<GraphQLContext>({
    schema: buildSchema(),
    logger: options.log,
    csrfPrevention: true,
    introspection: true,
    includeStacktraceInErrorResponses: false,
    formatError,
    // The process handles SIGTERM/SIGINT itself (src/main.ts): a second stop() would wait forever.
    stopOnTerminationSignals: false,
    plugins: [
      observed.plugin,
      ApolloServerPluginDrainHttpServer({ httpServer: server }),
      // No @cacheControl in the schema; the plugin's per-field hook cost ~30% CPU on large lists (bench/).
      ApolloServerPluginCacheControlDisabled(),
      // The embedded Sandbox in every mode: it is how people explore this subgraph.
      ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false }),
      errorLogging(options.log),
    ],
  });
  await apollo.start();

  app.disable('x-powered-by');
  app.get('/health', async (_req, res) => {
    if (await storeAnswers(engine, options.healthTimeoutMs, options.log)) res.json({ status: 'ok' });
    else res.status(503).json({ status: 'unavailable', reason: 'the operational store does not answer' });
  });
  app.get('/health/live', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(register.contentType).send(await register.metrics());
  });
  app.use(
    '/graphql',
    express.json({ limit: '5mb' }),
    observed.middleware,
    expressMiddleware(apollo, {
      context: async () => ({ engine, loaders: engine.loaders() }),
    }),
  );

  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(options.port, options.host, () => res());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/graphql`,
    server,
    // Stops accepting connections, lets in-flight requests finish, then closes idle ones.
    stop: () => apollo.stop(),
  };
}
