import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginInlineTrace } from '@apollo/server/plugin/inlineTrace';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { unwrapResolverError } from '@apollo/server/errors';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import type { GraphQLContext } from '../../resolvers/context.js';
import type { AuthSettings, LimitSettings, MetricsSettings } from '../config.js';
import { StoreUnavailableError } from '../data/store-errors.js';
import type { Actor } from '../engine/actor.js';
import { DomainError } from '../engine/errors.js';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../logger.js';
import { runInScope } from '../observability/request-scope.js';
import { CONSOLE_DIR } from '../paths.js';
import { consoleRoutes } from './console-static.js';
import { corsFor } from './cors.js';
import { listen, metricsEndpoint, notServedHere } from './metrics-endpoint.js';
import { accessControl } from './auth/enforce.js';
import type { AuthState } from './auth/principal.js';
import { AccessRules } from './auth/rules.js';
import { TokenVerifier } from './auth/verifier.js';
import { formatError, isRequestRefusal } from './errors.js';
import { boundExecution, executionBudget, recount, withDeadline } from './limits/execution-budget.js';
import { scalarListBounds } from './limits/list-bounds.js';
import { requestLimits } from './limits/limits.js';
import { observeRequests } from './observe-requests.js';
import { KnownOperationTypes } from './operation/known-operation-types.js';
import { buildSchema } from './schema.js';
import { compiledExecution } from './execution/compiled-executor.js';
import { answerClientError, jsonDepthGuard, jsonTransportErrors, noSuchPath, requireJsonBody } from './transport-errors.js';

export interface HttpServer {
  url: string;
  /** Where GET /metrics answers: beside /graphql, or on METRICS_PORT. */
  metricsUrl: string;
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
            else if (original instanceof StoreUnavailableError)
              log.warn({ err: original, cause: original.cause, operationName }, original.message);
            else if (isRequestRefusal(e)) log.debug({ operationName }, e.message);
            else if (!e.extensions?.code || e.extensions.code === 'INTERNAL_SERVER_ERROR')
              log.error({ err: original, operationName }, 'request failed');
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

/** GET /metrics alone on METRICS_PORT (same HOST): scrapers reach it, GraphQL callers need not. */
async function metricsOnly(options: HttpOptions): Promise<Server> {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', metricsEndpoint(options.metrics.token, options.log));
  app.use(notServedHere);
  const server = createServer(app);
  server.on('clientError', answerClientError);
  await listen(server, options.metrics.port ?? 0, options.host, 'METRICS_PORT');
  return server;
}

/** The engine's view of the caller: who to record, which projects it is confined to. */
function actorOf(auth: AuthState): Actor {
  if (auth.mode === 'none') return { subject: null, projects: null };
  // Without a valid token the plugin refuses every guarded field; should anything slip past it, it sees no project.
  return auth.principal ? { subject: auth.principal.subject, projects: auth.principal.projects } : { subject: null, projects: [] };
}

export interface HttpOptions {
  host: string;
  port: number;
  log: Logger;
  auth: AuthSettings;
  limits: LimitSettings;
  /** Browser origins allowed to call /graphql (CORS_ORIGINS). */
  corsOrigins: readonly string[];
  /** Deadline of one request's store work. */
  requestTimeoutMs: number;
  /** Longest wait for /health's read. */
  healthTimeoutMs: number;
  /** Runs of an operation on graphql-js before it is compiled (compiled-executor.ts). */
  compileAfterRuns: number;
  /** Where and to whom /metrics answers (METRICS_PORT, METRICS_TOKEN, METRICS_MAX_OPERATIONS). */
  metrics: MetricsSettings;
  /** Schema introspection (INTROSPECTION; off by default with NODE_ENV=production). */
  introspection: boolean;
  /** The Sandbox landing page on GET /graphql (LANDING_PAGE; off by default with NODE_ENV=production). */
  landingPage: boolean;
  /** Inline federated (ftv1) traces for routers that ask for them (FEDERATION_TRACES). */
  federationTraces: boolean;
}

/** A router asks for an operation's inline federated trace with this header (Apollo's ftv1 protocol). */
const FTV1_HEADER = 'apollo-federation-include-trace';

/**
 * Apollo Server 5 on express: GraphQL and the Sandbox landing page at /graphql; /health
 * (readiness: the store answers), /health/live (liveness: the process answers) and /metrics beside it.
 */
export async function startHttp(engine: Engine, options: HttpOptions): Promise<HttpServer> {
  const app = express();
  const server = createServer(app);
  server.on('clientError', answerClientError);
  const schema = buildSchema(engine.schema);
  // Before anything executes or compiles: execution counts its objects and keeps the deadline.
  boundExecution(schema);
  const verifier = new TokenVerifier(options.auth, options.log);
  const limits = requestLimits(options.limits, schema, scalarListBounds(engine.schema));
  const observed = observeRequests(options.log, {
    requestTimeoutMs: options.requestTimeoutMs,
    maxOperationLabels: options.metrics.maxOperations,
  });
  const apollo = new ApolloServer<GraphQLContext>({
    // graphql-jit executes; Apollo parses, validates, runs the plugins and formats errors (compiled-executor.ts).
    gateway: withDeadline(
      compiledExecution(schema, {
        compileAfterRuns: options.compileAfterRuns,
        beforeRerun: recount,
        // A traced operation's timings come from Apollo's per-resolver hooks, which graphql-jit does not call in order: graphql-js runs it.
        interpretWhen: options.federationTraces ? (rc) => rc.request.http?.headers.get(FTV1_HEADER) === 'ftv1' : undefined,
      }),
    ),
    logger: options.log,
    validationRules: [KnownOperationTypes, ...limits.validationRules],
    parseOptions: limits.parseOptions,
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    introspection: options.introspection,
    includeStacktraceInErrorResponses: false,
    formatError,
    // The process handles SIGTERM/SIGINT itself (src/main.ts): a second stop() would wait forever.
    stopOnTerminationSignals: false,
    plugins: [
      // First: its answer to a stopped execution is what the others (metrics, status) see.
      executionBudget({ maxObjects: options.limits.maxObjects, requestTimeoutMs: options.requestTimeoutMs }),
      observed.plugin,
      ApolloServerPluginDrainHttpServer({ httpServer: server }),
      // No @cacheControl in the schema; the plugin's per-field hook cost ~30% CPU on large lists (bench/).
      ApolloServerPluginCacheControlDisabled(),
      // Field-level ftv1 traces wrap every resolver of the schema for good once a router asks for
      // one, so they are opt-in (FEDERATION_TRACES); otherwise traces come from OpenTelemetry
      // (src/observability/tracing.ts).
      options.federationTraces ? ApolloServerPluginInlineTrace() : ApolloServerPluginInlineTraceDisabled(),
      // The embedded Sandbox is how people explore this subgraph; production turns it off (LANDING_PAGE).
      options.landingPage
        ? ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false })
        : ApolloServerPluginLandingPageDisabled(),
      errorLogging(options.log),
      // Limits before access control: a hostile document is refused whoever sends it.
      limits.plugin,
      accessControl(new AccessRules(schema)),
    ],
  });
  await apollo.start();

  app.disable('x-powered-by');
  // GraphQL answers to POST are not cached by ETag; express would hash every body (200 KB for a 1,000-row list).
  app.set('etag', false);
  app.get('/health', async (_req, res) => {
    if (await storeAnswers(engine, options.healthTimeoutMs, options.log)) res.json({ status: 'ok' });
    else res.status(503).json({ status: 'unavailable', reason: 'the operational store does not answer' });
  });
  app.get('/health/live', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // On a port of its own, /metrics is not answered beside /graphql.
  const ownPort = options.metrics.port !== undefined;
  app.get('/metrics', ownPort ? notServedHere : metricsEndpoint(options.metrics.token, options.log));
  // The integrity console: static files that call /graphql on this origin (console/, built into dist/console).
  app.use('/console', consoleRoutes(CONSOLE_DIR));
  app.use(
    '/graphql',
    observed.start,
    corsFor(options.corsOrigins),
    requireJsonBody,
    express.json({
      limit: '5mb',
      type: ['application/json', 'application/*+json'],
      verify: jsonDepthGuard(options.limits.maxJsonDepth, options.limits.maxJsonItems),
    }),
    observed.enter,
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        // A missing or bad token is not refused here: `_service` stays open; the access-control plugin decides.
        const auth = await verifier.authenticate(req.headers.authorization);
        const actor = actorOf(auth);
        return { engine, actor, auth, loaders: engine.loaders(actor) };
      },
    }),
    jsonTransportErrors,
  );
  // Everything else, and any error no handler above answered: JSON, never express's HTML pages.
  app.use(noSuchPath);
  app.use(jsonTransportErrors);

  await listen(server, options.port, options.host);
  const metricsServer = ownPort ? await metricsOnly(options) : undefined;
  const base = (s: Server) => {
    const { port } = s.address() as AddressInfo;
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  };
  return {
    url: `${base(server)}/graphql`,
    metricsUrl: `${base(metricsServer ?? server)}/metrics`,
    server,
    // Stops accepting connections, lets in-flight requests finish, then closes idle ones.
    stop: async () => {
      await apollo.stop();
      if (metricsServer) {
        const closed = new Promise<void>((res) => metricsServer.close(() => res()));
        metricsServer.closeAllConnections();
        await closed;
      }
    },
  };
}
