import { resolve } from 'node:path';
import { developmentSecret } from './util/dev-secret.js';
import { CORS_ORIGIN_PATTERN, DEFAULT_CORS_ORIGINS } from './server/cors.js';

/** Settings from the environment (docs/operations.md lists them under "Settings"). */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string;
  embeddedStore: boolean;
  clientDatabaseUrl: string;
  seedDemo: boolean;
  retentionSeconds?: number;
  revalidateAfterSeconds: number;
  revalidateIntervalSeconds: number;
  appliedEventRetentionSeconds: number;
  gcBatchSize: number;
  gcIntervalSeconds: number;
  historyKeepLast?: number;
  historyMaxAgeSeconds?: number;
  changeFeedUrl?: string;
  /** Attempts at one change event before it goes to the dead letter. */
  changeFeedMaxDeliveries: number;
  /** Wait before a failed change event is delivered again. */
  changeFeedRetryDelayMs: number;
  /** An event a dead replica took but never acknowledged goes to another replica after this long. */
  changeFeedRedeliverMs: number;
  /** A change event dated further ahead than this goes to the dead letter (CHANGE_FEED_MAX_CLOCK_SKEW_SECONDS). */
  changeFeedMaxClockSkewSeconds: number;
  leaseTtlSeconds: number;
  maintenanceTxTimeoutSeconds: number;
  relationshipSchemaFile?: string;
  batching: boolean;
  logLevel: string;
  /** Browser origins allowed to call /graphql (CORS_ORIGINS, comma-separated). */
  corsOrigins: string[];
  auth: AuthSettings;
  limits: LimitSettings;
  /** Longest wait for one operational-store statement (STORE_STATEMENT_TIMEOUT_MS). */
  statementTimeoutMs: number;
  /** Deadline of one GraphQL request's store work (REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** Longest wait for GET /health's read (HEALTH_TIMEOUT_MS). */
  healthTimeoutMs: number;
  /** Runs of an operation on graphql-js before graphql-jit compiles it (EXECUTION_COMPILE_AFTER). */
  compileAfterRuns: number;
  /** Longest graceful stop before the process exits anyway (SHUTDOWN_TIMEOUT_MS). */
  shutdownTimeoutMs: number;
  metrics: MetricsSettings;
  /** What start-up does with pending migrations (MIGRATIONS): apply them, refuse to start, or leave them. */
  migrations: MigrationsMode;
  /** Schema introspection (INTROSPECTION): on, but off with NODE_ENV=production. */
  introspection: boolean;
  /** The Sandbox landing page (LANDING_PAGE): on, but off with NODE_ENV=production. */
  landingPage: boolean;
  /** Inline federated (ftv1) traces for GraphOS (FEDERATION_TRACES). */
  federationTraces: boolean;
}

export type MigrationsMode = 'run' | 'check' | 'skip';

/** Where and to whom GET /metrics answers, and how many operation names it labels (docs/operations.md, "Metrics"). */
export interface MetricsSettings {
  /** Serve /metrics on this port only (METRICS_PORT; 0: any free port); unset: on PORT beside /graphql. */
  port?: number;
  /** Bearer token /metrics requires (METRICS_TOKEN); unset: open. */
  token?: string;
  /** Distinct operation names labelled, first come; every later one is `other` (METRICS_MAX_OPERATIONS). */
  maxOperations: number;
}

/** How callers prove who they are (docs/semantics.md, "Access control"). */
export interface AuthSettings {
  mode: 'jwt' | 'none';
  jwtSecret?: string;
  /** Where the development secret was read from (embedded store, AUTH_MODE=jwt, no key set). */
  jwtSecretFile?: string;
  jwksUrl?: string;
  /** Seconds before an unknown key id may refetch the JWKS (rotation vs. hammering the endpoint). */
  jwksCooldownSeconds: number;
  issuer?: string;
  audience?: string;
  /** Unset: `scope` (space-separated) or else `scp`. */
  scopesClaim?: string;
  projectsClaim: string;
  /** Longest a token may live: `exp` at most this far from `iat` (or from now). */
  maxTokenLifetimeSeconds: number;
}

/** Per-request bounds on the operation document (see src/server/limits). */
export interface LimitSettings {
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxDirectives: number;
  maxCost: number;
  /** Items one request may ask of one list, summed over its aliases. */
  maxListItems: number;
  /** Objects one request's execution may produce (LIMIT_MAX_OBJECTS; default LIMIT_MAX_COST). */
  maxObjects: number;
  /** Nesting of `[` and `{` a JSON request body may have (LIMIT_MAX_JSON_DEPTH). */
  maxJsonDepth: number;
  /** Items of arrays and members of objects a JSON request body may hold, all levels together (LIMIT_MAX_JSON_ITEMS). */
  maxJsonItems: number;
}

/** LIMIT_MAX_COST's default: what this machine answers in well under a second (docs/operations.md, "Request limits"). */
const DEFAULT_MAX_COST = 50_000;

export class ConfigError extends Error {}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min?: number): number;
function integer(env: NodeJS.ProcessEnv, name: string, fallback: undefined, min?: number): number | undefined;
function integer(env: NodeJS.ProcessEnv, name: string, fallback: number | undefined, min = 0): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${name} must be a whole number of at least ${min} (got "${raw}")`);
  return n;
}

function boolean(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false (got "${env[name]}")`);
}

function corsOrigins(env: NodeJS.ProcessEnv): string[] {
  const raw = env.CORS_ORIGINS?.trim();
  if (!raw) return [...DEFAULT_CORS_ORIGINS];
  if (raw === 'none') return [];
  const list = raw
    .split(',')
    .map((o) => o.trim().replace(/\/$/, ''))
    .filter(Boolean);
  const bad = list.find((o) => !CORS_ORIGIN_PATTERN.test(o));
  if (bad)
    throw new ConfigError(`CORS_ORIGINS must be origins like https://app.example.com or http://localhost:*, * or none (got "${bad}")`);
  return list;
}

/** The operational store's settings alone (DATA_DIR, DATABASE_URL): what `npm run migrate` needs. */
export function operationalStore(env: NodeJS.ProcessEnv = process.env): { dataDir: string; databaseUrl: string; embeddedStore: boolean } {
  const dataDir = resolve(env.DATA_DIR || './data');
  const embeddedStore = !env.DATABASE_URL;
  const databaseUrl = env.DATABASE_URL || `sqlite:${resolve(dataDir, 'operational.sqlite')}`;
  if (!/^(sqlite:|mysql:\/\/|mariadb:\/\/)/.test(databaseUrl)) {
    throw new ConfigError(
      `DATABASE_URL must be mysql://user:pass@host:port/db or sqlite:PATH (got "${databaseUrl.replace(/\/\/[^@]*@/, '//…@')}")`,
    );
  }
  return { dataDir, databaseUrl, embeddedStore };
}

function migrationsMode(env: NodeJS.ProcessEnv): MigrationsMode {
  const raw = (env.MIGRATIONS || 'run').toLowerCase();
  if (raw === 'run' || raw === 'check' || raw === 'skip') return raw;
  throw new ConfigError(`MIGRATIONS must be run, check or skip (got "${env.MIGRATIONS}")`);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const { dataDir, databaseUrl, embeddedStore } = operationalStore(env);
  // Production shows callers no schema and no Sandbox unless asked; the embedded demo store is never production.
  const production = env.NODE_ENV === 'production' && !embeddedStore;
  const clientDatabaseUrl = env.CLIENT_DATABASE_URL || `sqlite:${resolve(dataDir, 'client.sqlite')}`;
  if (!/^(sqlite:|mysql:\/\/|mariadb:\/\/|postgres:\/\/|postgresql:\/\/)/.test(clientDatabaseUrl)) {
    throw new ConfigError(`CLIENT_DATABASE_URL must be mysql://…, postgres://… or sqlite:PATH`);
  }
  const changeFeedUrl = env.CHANGE_FEED_URL || undefined;
  if (changeFeedUrl && !/^(nats|redis):\/\/[^/]+\/.+/.test(changeFeedUrl)) {
    throw new ConfigError(`CHANGE_FEED_URL must be nats://host:port/STREAM or redis://host:port/KEY (got "${changeFeedUrl}")`);
  }
  const revalidateAfterSeconds = integer(env, 'REVALIDATE_AFTER_SECONDS', 60);
  return {
    port: integer(env, 'PORT', 4001),
    host: env.HOST || '127.0.0.1',
    dataDir,
    databaseUrl,
    embeddedStore,
    clientDatabaseUrl,
    seedDemo: boolean(env, 'SEED_DEMO', embeddedStore),
    retentionSeconds: integer(env, 'RETENTION_SECONDS', undefined),
    revalidateAfterSeconds,
    revalidateIntervalSeconds: integer(env, 'REVALIDATE_INTERVAL_SECONDS', Math.max(1, Math.floor(revalidateAfterSeconds / 2))),
    appliedEventRetentionSeconds: integer(env, 'APPLIED_EVENT_RETENTION_SECONDS', 7 * 86400, 60),
    gcBatchSize: integer(env, 'GC_BATCH_SIZE', 500, 1),
    gcIntervalSeconds: integer(env, 'GC_INTERVAL_SECONDS', 300),
    historyKeepLast: integer(env, 'HISTORY_KEEP_LAST', undefined, 1),
    historyMaxAgeSeconds: integer(env, 'HISTORY_MAX_AGE_SECONDS', undefined),
    changeFeedUrl,
    changeFeedMaxDeliveries: integer(env, 'CHANGE_FEED_MAX_DELIVERIES', 5, 1),
    changeFeedRetryDelayMs: integer(env, 'CHANGE_FEED_RETRY_DELAY_MS', 5000, 10),
    changeFeedRedeliverMs: integer(env, 'CHANGE_FEED_REDELIVER_MS', 30_000, 500),
    changeFeedMaxClockSkewSeconds: integer(env, 'CHANGE_FEED_MAX_CLOCK_SKEW_SECONDS', 300, 1),
    leaseTtlSeconds: integer(env, 'LEASE_TTL_SECONDS', 60, 1),
    maintenanceTxTimeoutSeconds: integer(env, 'MAINTENANCE_TX_TIMEOUT_SECONDS', 10, 1),
    relationshipSchemaFile: env.RELATIONSHIP_SCHEMA || undefined,
    batching: boolean(env, 'DATALOADER_BATCHING', true),
    logLevel: env.LOG_LEVEL || 'info',
    corsOrigins: corsOrigins(env),
    auth: authSettings(env, embeddedStore, dataDir),
    limits: {
      maxDepth: integer(env, 'LIMIT_MAX_DEPTH', 15, 1),
      maxAliases: integer(env, 'LIMIT_MAX_ALIASES', 100, 0),
      maxTokens: integer(env, 'LIMIT_MAX_TOKENS', 10_000, 100),
      maxDirectives: integer(env, 'LIMIT_MAX_DIRECTIVES', 50, 0),
      maxCost: integer(env, 'LIMIT_MAX_COST', DEFAULT_MAX_COST, 1),
      maxListItems: integer(env, 'LIMIT_MAX_LIST_ITEMS', 1000, 1),
      maxObjects: integer(env, 'LIMIT_MAX_OBJECTS', integer(env, 'LIMIT_MAX_COST', DEFAULT_MAX_COST, 1), 1),
      maxJsonDepth: integer(env, 'LIMIT_MAX_JSON_DEPTH', 64, 2),
      maxJsonItems: integer(env, 'LIMIT_MAX_JSON_ITEMS', 100_000, 100),
    },
    statementTimeoutMs: integer(env, 'STORE_STATEMENT_TIMEOUT_MS', 5000, 100),
    requestTimeoutMs: integer(env, 'REQUEST_TIMEOUT_MS', 10_000, 100),
    healthTimeoutMs: integer(env, 'HEALTH_TIMEOUT_MS', 2000, 100),
    compileAfterRuns: integer(env, 'EXECUTION_COMPILE_AFTER', 1, 0),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 20_000, 1000),
    metrics: {
      port: integer(env, 'METRICS_PORT', undefined),
      token: env.METRICS_TOKEN || undefined,
      maxOperations: integer(env, 'METRICS_MAX_OPERATIONS', 100),
    },
    migrations: migrationsMode(env),
    introspection: boolean(env, 'INTROSPECTION', !production),
    landingPage: boolean(env, 'LANDING_PAGE', !production),
    federationTraces: boolean(env, 'FEDERATION_TRACES', false),
  };
}

function authSettings(env: NodeJS.ProcessEnv, embeddedStore: boolean, dataDir: string): AuthSettings {
  const mode = (env.AUTH_MODE || (embeddedStore ? 'none' : 'jwt')).toLowerCase();
  if (mode !== 'jwt' && mode !== 'none') throw new ConfigError(`AUTH_MODE must be jwt or none (got "${env.AUTH_MODE}")`);
  const auth: AuthSettings = {
    mode,
    jwtSecret: env.AUTH_JWT_SECRET || undefined,
    jwksUrl: env.AUTH_JWKS_URL || undefined,
    jwksCooldownSeconds: integer(env, 'AUTH_JWKS_COOLDOWN_SECONDS', 30),
    issuer: env.AUTH_ISSUER || undefined,
    audience: env.AUTH_AUDIENCE || undefined,
    scopesClaim: env.AUTH_SCOPES_CLAIM || undefined,
    projectsClaim: env.AUTH_PROJECTS_CLAIM || 'projects',
    maxTokenLifetimeSeconds: integer(env, 'AUTH_MAX_TOKEN_LIFETIME_SECONDS', 86_400, 1),
  };
  if (auth.jwksUrl && !/^https?:\/\/[^/]/.test(auth.jwksUrl)) throw new ConfigError(`AUTH_JWKS_URL must be an http(s) URL`);
  if (mode === 'jwt' && !auth.jwtSecret && !auth.jwksUrl && embeddedStore) {
    // The demo store is development: a secret kept in DATA_DIR, which `npm run token` reads too.
    const { secret, file } = developmentSecret(dataDir);
    auth.jwtSecret = secret;
    auth.jwtSecretFile = file;
  }
  if (mode === 'jwt' && !auth.jwtSecret && !auth.jwksUrl) {
    throw new ConfigError(
      'AUTH_MODE=jwt (the default off the embedded store) needs a key to verify tokens: set AUTH_JWKS_URL (RS256/ES256, production) ' +
        'or AUTH_JWT_SECRET (HS256, development), or set AUTH_MODE=none to run without authentication',
    );
  }
  return auth;
}
