import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TaskCancelledError,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  retry,
  timeout,
  wrap,
} from 'cockatiel';
import type { Logger } from 'pino';
import { remoteCalls, remoteFailures } from '../../observability/metrics.js';
import { inSpan } from '../../observability/tracing.js';
import type { RemoteTypeDef } from '../../model/model.js';
import type { RemoteKey } from '../hash.js';
import { SourceUnavailableError, type FetchedEntities, type RemoteSource } from './source.js';

export interface ResilienceSettings {
  /** Per attempt. */
  timeoutMs: number;
  /** Attempts after the first one. */
  retries: number;
  /** Consecutive failed attempts that open the circuit. */
  breakerThreshold: number;
  /** How long an open circuit fails fast before it lets one probe through. */
  halfOpenAfterMs: number;
}

export const DEFAULT_RESILIENCE: Readonly<ResilienceSettings> = {
  timeoutMs: 2000,
  retries: 2,
  breakerThreshold: 5,
  halfOpenAfterMs: 10_000,
};

function setting(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, integer: boolean): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new Error(`${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min} (got "${raw}")`);
  }
  return value;
}

/** REMOTE_TIMEOUT_MS, REMOTE_RETRIES, REMOTE_BREAKER_THRESHOLD, REMOTE_BREAKER_HALF_OPEN_MS. */
export function resilienceFromEnv(env: NodeJS.ProcessEnv = process.env): ResilienceSettings {
  return {
    timeoutMs: setting(env, 'REMOTE_TIMEOUT_MS', DEFAULT_RESILIENCE.timeoutMs, 1, false),
    retries: setting(env, 'REMOTE_RETRIES', DEFAULT_RESILIENCE.retries, 0, true),
    breakerThreshold: setting(env, 'REMOTE_BREAKER_THRESHOLD', DEFAULT_RESILIENCE.breakerThreshold, 1, true),
    halfOpenAfterMs: setting(env, 'REMOTE_BREAKER_HALF_OPEN_MS', DEFAULT_RESILIENCE.halfOpenAfterMs, 0, false),
  };
}

/** `half-open`: the open period is over and the next call is let through as a probe. */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface ResilientSource extends RemoteSource {
  readonly inner: RemoteSource;
  readonly settings: Readonly<ResilienceSettings>;
  state(): BreakerState;
}

/** A request that can never succeed (e.g. listing on a federated source) is not an outage. */
const isPermanent = (e: unknown) => (e as { permanent?: unknown }).permanent === true;

/**
 * Wraps a source in retry(breaker(timeout(call))). Only outages count (SourceUnavailableError and
 * timeouts): an entity that is not found is a successful answer, and a programming error passes
 * through untouched. An open circuit rejects at once, without retrying and without a query.
 */
export function resilient(source: RemoteSource, settings: ResilienceSettings, log?: Logger): ResilientSource {
  const name = source.name;
  const outage = handleWhen((e) => (e instanceof SourceUnavailableError && !isPermanent(e)) || e instanceof TaskCancelledError);
  const timeoutPolicy = timeout(settings.timeoutMs, TimeoutStrategy.Aggressive);
  const breaker = circuitBreaker(outage, {
    halfOpenAfter: settings.halfOpenAfterMs,
    breaker: new ConsecutiveBreaker(settings.breakerThreshold),
  });
  // Decorrelated jitter is ExponentialBackoff's default generator.
  const retryPolicy = retry(outage, {
    maxAttempts: settings.retries,
    backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 5000 }),
  });
  const policy = wrap(retryPolicy, breaker, timeoutPolicy);

  const messageOf = (e: unknown) =>
    e instanceof TaskCancelledError ? `timed out after ${settings.timeoutMs} ms` : e instanceof Error ? e.message : String(e);

  let openedAt = 0;
  let lastFailure = '';
  breaker.onBreak((reason) => {
    openedAt = Date.now();
    if ('error' in reason) lastFailure = messageOf(reason.error);
    log?.warn({ source: name, lastError: lastFailure }, 'remote source circuit opened');
  });
  breaker.onHalfOpen(() => log?.info({ source: name }, 'remote source circuit half-open: probing'));
  breaker.onReset(() => log?.info({ source: name }, 'remote source circuit closed'));
  retryPolicy.onRetry((r) =>
    log?.debug({ source: name, delayMs: r.delay, error: 'error' in r ? messageOf(r.error) : undefined }, 'retrying remote source'),
  );
  // Every failed attempt, with the driver's own words (which callers never see).
  breaker.onFailure(({ reason }) => {
    remoteFailures.inc({ source: name });
    if ('error' in reason)
      log?.debug({ source: name, err: reason.error, cause: (reason.error as { cause?: unknown }).cause }, 'remote source attempt failed');
  });

  function guarded<T>(fn: () => Promise<T>): Promise<T> {
    return inSpan(`remote ${name}`, { 'integrity.remote.source': name }, async () => {
      try {
        const result = await attempt(fn);
        remoteCalls.inc({ source: name, outcome: 'ok' });
        return result;
      } catch (err) {
        remoteCalls.inc({
          source: name,
          outcome: err instanceof SourceUnavailableError && err.cause instanceof BrokenCircuitError ? 'rejected' : 'failed',
        });
        throw err;
      }
    });
  }

  async function attempt<T>(fn: () => Promise<T>): Promise<T> {
    try {
      // A signal per call: cockatiel otherwise hangs every call's listener on one shared signal.
      return await policy.execute(() => fn(), new AbortController().signal);
    } catch (err) {
      if (err instanceof BrokenCircuitError) {
        throw new SourceUnavailableError(
          name,
          `${name} unavailable: circuit open after ${settings.breakerThreshold} consecutive failures, failing fast` +
            (lastFailure ? ` (last failure: ${lastFailure})` : ''),
          { cause: err },
        );
      }
      if (err instanceof TaskCancelledError) {
        throw new SourceUnavailableError(name, `${name} unavailable: timed out after ${settings.timeoutMs} ms`, { cause: err });
      }
      throw err;
    }
  }

  return {
    name,
    inner: source,
    settings: { ...settings },
    fetchMany: (type: RemoteTypeDef, keys: RemoteKey[]): Promise<FetchedEntities> =>
      keys.length === 0 ? Promise.resolve(new Map()) : guarded(() => source.fetchMany(type, keys)),
    list: (type: RemoteTypeDef, first: number, after?: string) => guarded(() => source.list(type, first, after)),
    onQuery: (listener) => source.onQuery(listener),
    close: () => source.close(),
    state(): BreakerState {
      switch (breaker.state) {
        case CircuitState.Closed:
          return 'closed';
        case CircuitState.HalfOpen:
          return 'half-open';
        case CircuitState.Open:
          // cockatiel moves to half-open lazily, on the next call; report when that call would be let through.
          return Date.now() - openedAt >= settings.halfOpenAfterMs ? 'half-open' : 'open';
        default:
          return 'open';
      }
    },
  };
}
