import { Db } from '../data/db.js';
import { migrationStep } from '../data/migration-step.js';
import { StatementLog } from '../data/statement-log.js';
import type { Config } from '../config.js';
import { seedDemo } from '../demo/seed.js';
import { Engine } from '../engine/engine.js';
import { checkStoredData } from '../engine/evolution.js';
import { loadRelationshipSchema } from '../model/load.js';
import type { Logger } from '../logger.js';
import { ensureDemoClientStore } from '../remote/client-demo.js';
import { closeSources, createSources } from '../remote/sources/registry.js';
import { resilienceFromEnv } from '../remote/sources/resilient-source.js';
import { superviseChangeFeed } from '../remote/feed/supervisor.js';
import { collectProcessMetrics, watchBreakers } from '../observability/metrics.js';
import { currentScope } from '../observability/request-scope.js';
import { startHttp } from './http.js';
import { typeDefs } from './schema.js';

export interface App {
  url: string;
  /** Where GET /metrics answers (METRICS_PORT or beside /graphql). */
  metricsUrl: string;
  engine: Engine;
  db: Db;
  stop(): Promise<void>;
}

/** The composition root: schema, stores, engine, HTTP server, background work. */
export async function startApp(config: Config, log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<App> {
  const schema = loadRelationshipSchema(config.relationshipSchemaFile);
  // Before any store is touched: a relationship schema whose derived names collide cannot be served.
  typeDefs(schema);
  const statementLog = new StatementLog(log);
  const db = await Db.open({ url: config.databaseUrl, statementLog, statementTimeoutMs: config.statementTimeoutMs });
  const stops: Array<() => Promise<void>> = [() => db.close()];
  collectProcessMetrics();
  // Statements per operation: the request's scope travels with every await down to the driver.
  const stopCounting = statementLog.listen(() => {
    const scope = currentScope();
    if (scope) scope.statements++;
  });
  stops.push(async () => void stopCounting());
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((err) => log.warn({ err }, 'while stopping'));
  };
  try {
    await migrationStep(db, config.migrations, log);
    // Before anything reads or writes: a schema that would orphan or misread stored rows is refused.
    await checkStoredData(db, schema, log);
    if (!env.CLIENT_DATABASE_URL && (await ensureDemoClientStore(config.clientDatabaseUrl))) {
      log.info({ url: config.clientDatabaseUrl }, 'created the embedded client store with demo rows');
    }
    const sources = createSources(schema, { env, defaultClientUrl: config.clientDatabaseUrl, resilience: resilienceFromEnv(env), log });
    stops.push(() => closeSources(sources));
    const unwatch = watchBreakers(() => [...sources.values()].map((s) => [s.name, s.state()] as [string, ReturnType<typeof s.state>]));
    stops.push(async () => void unwatch());
    const engine = new Engine(
      db,
      schema,
      sources,
      {
        retentionSeconds: config.retentionSeconds,
        batching: config.batching,
        maxClockSkewSeconds: config.changeFeedMaxClockSkewSeconds,
        maintenance: {
          leaseTtlSeconds: config.leaseTtlSeconds,
          gcIntervalSeconds: config.gcIntervalSeconds,
          historyKeepLast: config.historyKeepLast,
          historyMaxAgeSeconds: config.historyMaxAgeSeconds,
          revalidateAfterSeconds: config.revalidateAfterSeconds,
          revalidateIntervalSeconds: config.revalidateIntervalSeconds,
          appliedEventRetentionSeconds: config.appliedEventRetentionSeconds,
          gcBatchSize: config.gcBatchSize,
          transactionTimeoutSeconds: config.maintenanceTxTimeoutSeconds,
        },
      },
      log,
    );
    if (config.seedDemo) await seedDemo(engine, log);
    engine.maintenance.start();
    stops.push(() => engine.maintenance.stop());
    if (config.changeFeedUrl) {
      const feed = await superviseChangeFeed(
        config.changeFeedUrl,
        {
          apply: (events) => engine.applyRemoteChanges(events),
          // An array, not an iterator: a retried start reads it again.
          remoteTypes: [...schema.remoteTypes.values()],
          log,
          maxDeliveries: config.changeFeedMaxDeliveries,
          retryDelayMs: config.changeFeedRetryDelayMs,
          ackWaitMs: config.changeFeedRedeliverMs,
          claimIdleMs: config.changeFeedRedeliverMs,
          maxClockSkewSeconds: config.changeFeedMaxClockSkewSeconds,
        },
        log,
        config.changeFeedRetryDelayMs,
      );
      stops.push(() => feed.stop());
    }
    if (config.auth.mode === 'none') {
      log.warn(
        'AUTH_MODE=none: every caller may read, change and delete everything; set AUTH_MODE=jwt with AUTH_JWKS_URL or AUTH_JWT_SECRET to require tokens',
      );
    } else {
      log.info(
        { jwks: !!config.auth.jwksUrl, hs256: !!config.auth.jwtSecret, issuer: config.auth.issuer, audience: config.auth.audience },
        'AUTH_MODE=jwt: operations need a bearer token',
      );
      if (config.auth.jwtSecretFile) {
        log.warn(
          { file: config.auth.jwtSecretFile },
          'AUTH_MODE=jwt on the embedded demo store without a key: tokens are verified with the development secret in this file (`npm run token` signs with it); set AUTH_JWKS_URL in production',
        );
      }
    }
    const http = await startHttp(engine, {
      host: config.host,
      port: config.port,
      log,
      auth: config.auth,
      limits: config.limits,
      corsOrigins: config.corsOrigins,
      requestTimeoutMs: config.requestTimeoutMs,
      healthTimeoutMs: config.healthTimeoutMs,
      compileAfterRuns: config.compileAfterRuns,
      metrics: config.metrics,
      introspection: config.introspection,
      landingPage: config.landingPage,
      federationTraces: config.federationTraces,
    });
    stops.push(() => http.stop());
    return { url: http.url, metricsUrl: http.metricsUrl, engine, db, stop: stopAll };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
