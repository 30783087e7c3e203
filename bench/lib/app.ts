import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import type { RemoteSource } from '../../src/remote/sources/source.js';
import { startApp, type App } from '../../src/server/app.js';

/** The real subgraph (HTTP, Apollo Server, engine, stores), as `npm start` builds it, on given stores. */
export interface BenchApp {
  app: App;
  /** The client-store source, whose onQuery counts remote queries. */
  source: RemoteSource;
  /** POSTs an operation; returns the raw body text (parsed by the caller, outside timed sections). */
  post(query: string, variables?: Record<string, unknown>): Promise<string>;
  /** POSTs and fails on any GraphQL error. */
  ok<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

export interface GraphQLBody<T = Record<string, any>> {
  data?: T;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export function parseBody<T>(text: string): T {
  const body = JSON.parse(text) as GraphQLBody<T>;
  if (body.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors.slice(0, 3))}`);
  return body.data as T;
}

/** The settings of a subgraph under benchmark, in process or spawned: quiet, open, no background work. */
export function benchServerEnv(databaseUrl: string, clientUrl: string): Record<string, string> {
  return {
    // Benchmarks measure the engine, not token verification.
    AUTH_MODE: 'none',
    DATABASE_URL: databaseUrl,
    CLIENT_DATABASE_URL: clientUrl,
    HOST: '127.0.0.1',
    PORT: '0',
    SEED_DEMO: 'false',
    // No background work while statements are counted.
    GC_INTERVAL_SECONDS: '0',
    REVALIDATE_INTERVAL_SECONDS: '0',
    REVALIDATE_AFTER_SECONDS: '86400',
    LOG_LEVEL: 'silent',
    // Benchmarks measure speed, not limits: the list and peer shapes (1,000 groups, `clusters`
    // without `first`, costed at its default page of 100) are far above the default estimate of
    // 50,000, and a refused request would measure nothing. Callers are told to page; these don't.
    LIMIT_MAX_COST: '100000000',
    LIMIT_MAX_OBJECTS: '100000000',
    // Settings a benchmark run may vary (see bench/README.md).
    ...(process.env.GC_BATCH_SIZE ? { GC_BATCH_SIZE: process.env.GC_BATCH_SIZE } : {}),
  };
}

export async function startBenchApp(databaseUrl: string, clientUrl: string, extraEnv: Record<string, string> = {}): Promise<BenchApp> {
  const env: NodeJS.ProcessEnv = { ...benchServerEnv(databaseUrl, clientUrl), ...extraEnv };
  const app = await startApp(loadConfig(env), createLogger('silent'), env);
  const source = app.engine.remote.sources.get('client');
  if (!source) {
    await app.stop();
    throw new Error('the relationship schema has no "client" source');
  }
  const post = async (query: string, variables?: Record<string, unknown>) => {
    const res = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    return res.text();
  };
  return {
    app,
    source,
    post,
    ok: async <T>(query: string, variables?: Record<string, unknown>) => parseBody<T>(await post(query, variables)),
    stop: () => app.stop(),
  };
}

/** Runs `fn` over `items` with at most `concurrency` calls in flight. */
export async function inParallel<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
