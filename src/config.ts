import { resolve } from 'node:path';

/** Settings from the environment (see ../shared/runtime-contract.md and the README). */
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
  leaseTtlSeconds: number;
  relationshipSchemaFile?: string;
  batching: boolean;
  logLevel: string;
  /** Longest wait for one operational-store statement (STORE_STATEMENT_TIMEOUT_MS). */
  statementTimeoutMs: number;
  /** Deadline of one GraphQL request's store work (REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** Longest wait for GET /health's read (HEALTH_TIMEOUT_MS). */
  healthTimeoutMs: number;
  /** Longest graceful stop before the process exits anyway (SHUTDOWN_TIMEOUT_MS). */
  shutdownTimeoutMs: number;
}

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

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = resolve(env.DATA_DIR || './data');
  const embeddedStore = !env.DATABASE_URL;
  const databaseUrl = env.DATABASE_URL || `sqlite:${resolve(dataDir, 'operational.sqlite')}`;
  if (!/^(sqlite:|mysql:\/\/|mariadb:\/\/)/.test(databaseUrl)) {
    throw new ConfigError(`DATABASE_URL must be mysql://user:pass@host:port/db or sqlite:PATH (got "${databaseUrl.replace(/\/\/[^@]*@/, '//…@')}")`);
  }
  const clientDatabaseUrl = env.CLIENT_DATABASE_URL || `sqlite:${resolve(dataDir, 'client.sqlite')}`;
  if (!/^(sqlite:|mysql:\/\/|mariadb:\/\/|postgres:\/\/|postgresql:\/\/)/.test(clientDatabaseUrl)) {
    throw new ConfigError(`CLIENT_DATABASE_URL must be mysql://…, postgres://… or sqlite:PATH`);
  }
  const changeFeedUrl = env.CHANGE_FEED_URL || undefined;
  if (changeFeedUrl && !/^(nats|redis):\/\/[^/]+\/.+/.test(changeFeedUrl)) {
    throw new ConfigError(`CHANGE_FEED_URL must be nats://host:port/STREAM or redis://host:port/KEY (got "${changeFeedUrl}")`);
  }
  const revalidateAfterSeconds = integer(env, 'REVALIDATE_AFTER_SECONDS', 300);
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
    revalidateIntervalSeconds: integer(env, 'REVALIDATE_INTERVAL_SECONDS', Math.max(5, Math.floor(revalidateAfterSeconds / 2))),
    appliedEventRetentionSeconds: integer(env, 'APPLIED_EVENT_RETENTION_SECONDS', 7 * 86400, 60),
    gcBatchSize: integer(env, 'GC_BATCH_SIZE', 500, 1),
    gcIntervalSeconds: integer(env, 'GC_INTERVAL_SECONDS', 300),
    historyKeepLast: integer(env, 'HISTORY_KEEP_LAST', undefined, 1),
    historyMaxAgeSeconds: integer(env, 'HISTORY_MAX_AGE_SECONDS', undefined),
    changeFeedUrl,
    leaseTtlSeconds: integer(env, 'LEASE_TTL_SECONDS', 60, 1),
    relationshipSchemaFile: env.RELATIONSHIP_SCHEMA || undefined,
    batching: boolean(env, 'DATALOADER_BATCHING', true),
    logLevel: env.LOG_LEVEL || 'info',
    statementTimeoutMs: integer(env, 'STORE_STATEMENT_TIMEOUT_MS', 5000, 100),
    requestTimeoutMs: integer(env, 'REQUEST_TIMEOUT_MS', 10_000, 100),
    healthTimeoutMs: integer(env, 'HEALTH_TIMEOUT_MS', 2000, 100),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 20_000, 1000),
  };
}
