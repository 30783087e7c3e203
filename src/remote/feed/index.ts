import { pino, type Logger } from 'pino';
import type { RemoteTypeDef } from '../../model/model.js';
import { typesByTableOf, type FeedRuntime, type RemoteChangeEvent } from './events.js';
import { startNatsFeed } from './nats-feed.js';
import { startRedisFeed } from './redis-feed.js';

export { MalformedChangeEventError, RefusedChangeEventError, parseDebezium, typesByTableOf, type RemoteChangeEvent } from './events.js';

export const DEFAULT_CONSUMER = 'integrity-subgraph';

export interface ChangeFeedOptions {
  /** Applies a batch; the batch is acknowledged when it resolves and delivered again when it throws. */
  apply: (events: RemoteChangeEvent[]) => Promise<unknown>;
  remoteTypes: Iterable<RemoteTypeDef>;
  /** Durable consumer (NATS) or consumer group (Redis): replicas with the same name share the work. */
  consumer?: string;
  log?: Logger;
  /** Most events per apply call (default 100). */
  batchSize?: number;
  /** Wait before a failed batch is delivered again (default 5 s). */
  retryDelayMs?: number;
  /** Deliveries of one event before it is moved to the dead letter (default 5). */
  maxDeliveries?: number;
  /** NATS: redelivery after this long without an ack (default 30 s). */
  ackWaitMs?: number;
  /** Redis: entries pending this long on another consumer are taken over (default 60 s). */
  claimIdleMs?: number;
  /** Redis: longest blocking read (default 5 s). */
  blockMs?: number;
  /** Redis: this replica's consumer name within the group (default host-pid-random). */
  consumerName?: string;
  /** Events dated further ahead than this go to the dead letter at once (default 300 s). */
  maxClockSkewSeconds?: number;
}

export interface ChangeFeed {
  /** Ends the loops (an apply in progress finishes and is acknowledged) and closes the connections. */
  stop(): Promise<void>;
}

/** Starts consuming CHANGE_FEED_URL; resolves once connected and subscribed. */
export async function startChangeFeed(url: string, options: ChangeFeedOptions): Promise<ChangeFeed> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`CHANGE_FEED_URL is not a URL: expected nats://host:port/STREAM or redis://host:port/KEY`);
  }
  const log = (options.log ?? pino({ name: 'integrity-subgraph' })).child({ component: 'change-feed' });
  const runtime: FeedRuntime = {
    apply: options.apply,
    typesByTable: typesByTableOf(options.remoteTypes, (table, kept, dropped) =>
      log.warn({ table, kept: kept.name, dropped: dropped.name }, 'two remote types read the same table; change events go to the first'),
    ),
    consumer: options.consumer ?? DEFAULT_CONSUMER,
    log,
    batchSize: Math.max(1, options.batchSize ?? 100),
    retryDelayMs: options.retryDelayMs ?? 5000,
    maxDeliveries: Math.max(1, options.maxDeliveries ?? 5),
    skew: { maxSkewMs: (options.maxClockSkewSeconds ?? 300) * 1000 },
  };
  switch (parsed.protocol) {
    case 'nats:':
      return startNatsFeed(parsed, { ...runtime, ackWaitMs: options.ackWaitMs ?? 30_000 });
    case 'redis:':
    case 'rediss:':
      return startRedisFeed(parsed, {
        ...runtime,
        claimIdleMs: options.claimIdleMs ?? 60_000,
        blockMs: options.blockMs ?? 5000,
        consumerName: options.consumerName,
      });
    default:
      throw new Error(
        `CHANGE_FEED_URL has an unsupported scheme "${parsed.protocol.replace(/:$/, '')}": expected nats://host:port/STREAM or redis://host:port/KEY`,
      );
  }
}
