import {
  AckPolicy,
  ConsumerEvents,
  DeliverPolicy,
  connect,
  headers,
  nanos,
  type ConsumerMessages,
  type JetStreamManager,
  type JsMsg,
} from 'nats';
import { Pause, parseDebezium, unreadableReason, type FeedRuntime } from './events.js';
import { applyIsolated, reportDeadLetter, type Attempt } from './isolation.js';
import { feedMetrics } from './metrics.js';

export interface NatsFeedOptions extends FeedRuntime {
  /** Unacknowledged messages are redelivered after this long (a long apply keeps them alive). */
  ackWaitMs: number;
}

/** Hand-off between the message iterator and the apply loop; put() waits when full. */
class BatchQueue<T> {
  private items: T[] = [];
  private closed = false;
  private takeWaiter: (() => void) | null = null;
  private putWaiter: (() => void) | null = null;

  constructor(private readonly capacity: number) {}

  /** False when closed: the caller still owns the item. */
  async put(item: T): Promise<boolean> {
    if (this.closed) return false;
    this.items.push(item);
    this.wakeTake();
    while (this.items.length >= this.capacity && !this.closed) {
      await new Promise<void>((resolve) => (this.putWaiter = resolve));
    }
    return true;
  }

  /** Up to `max` items, waiting for the first; empty once closed. */
  async take(max: number): Promise<T[]> {
    while (this.items.length === 0 && !this.closed) {
      await new Promise<void>((resolve) => (this.takeWaiter = resolve));
    }
    if (this.closed) return [];
    const batch = this.items.splice(0, max);
    this.wakePut();
    return batch;
  }

  close(): T[] {
    this.closed = true;
    this.wakeTake();
    this.wakePut();
    return this.items.splice(0);
  }

  private wakeTake() {
    const w = this.takeWaiter;
    this.takeWaiter = null;
    w?.();
  }

  private wakePut() {
    const w = this.putWaiter;
    this.putWaiter = null;
    w?.();
  }
}

async function ensureConsumer(jsm: JetStreamManager, stream: string, durable: string, ackWaitMs: number): Promise<void> {
  try {
    await jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      // A new consumer group starts at the beginning: applying old events again is harmless.
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(ackWaitMs),
      max_ack_pending: 1000,
    });
  } catch (err) {
    // Same name with another configuration (an operator tuned it): use it as it is.
    try {
      await jsm.consumers.info(stream, durable);
    } catch {
      throw err;
    }
  }
}

/** `nats://[user:pass@]host:port/STREAM`: every subject of the stream, through one durable pull consumer. */
export async function startNatsFeed(url: URL, rt: NatsFeedOptions): Promise<{ stop(): Promise<void> }> {
  const stream = decodeURIComponent(url.pathname.replace(/^\/+/, ''));
  if (!stream || stream.includes('/')) {
    throw new Error(`CHANGE_FEED_URL: name the JetStream stream, as in nats://host:4222/STREAM (got path "${url.pathname}")`);
  }
  const log = rt.log.child({ feed: 'nats', stream, consumer: rt.consumer });
  const nc = await connect({
    servers: `${url.hostname}:${url.port || '4222'}`,
    user: url.username ? decodeURIComponent(url.username) : undefined,
    pass: url.password ? decodeURIComponent(url.password) : undefined,
    name: `integrity-subgraph change feed (${rt.consumer})`,
    maxReconnectAttempts: -1,
  });
  let jsm: JetStreamManager;
  try {
    jsm = await nc.jetstreamManager();
    try {
      await jsm.streams.info(stream);
    } catch (err) {
      throw new Error(
        `CHANGE_FEED_URL: JetStream stream "${stream}" is not available: ${(err as Error).message} (create it: nats stream add ${stream} --subjects '${stream}.>', or run npm run demo:etl with this CHANGE_FEED_URL)`,
        { cause: err },
      );
    }
    await ensureConsumer(jsm, stream, rt.consumer, rt.ackWaitMs);
  } catch (err) {
    await nc.close();
    throw err;
  }
  const js = nc.jetstream();

  let stopping = false;
  let messages: ConsumerMessages | null = null;
  const queue = new BatchQueue<JsMsg>(rt.batchSize * 2);
  const pause = new Pause();

  async function watchStatus(msgs: ConsumerMessages) {
    for await (const s of await msgs.status()) {
      if (
        s.type === ConsumerEvents.ConsumerDeleted ||
        s.type === ConsumerEvents.ConsumerNotFound ||
        s.type === ConsumerEvents.StreamNotFound
      ) {
        // The consumer (or its whole stream) is gone: start reading over, which creates the
        // consumer again once the stream is there and reads the stream's new identity.
        log.warn({ status: s.type }, 'durable consumer or stream is gone; reading again once it is back');
        await msgs.close().catch(() => {});
        return;
      } else if (s.type === ConsumerEvents.NoResponders) {
        log.warn({ status: s.type }, 'change feed stream is not available');
      }
    }
  }

  async function read() {
    while (!stopping) {
      try {
        // Also after the stream was deleted and created again (the consumer went with it).
        await ensureConsumer(jsm, stream, rt.consumer, rt.ackWaitMs);
        await refreshIdentity();
        const consumer = await js.consumers.get(stream, rt.consumer);
        const msgs = await consumer.consume({ max_messages: rt.batchSize });
        messages = msgs;
        if (stopping) {
          await msgs.close();
          break;
        }
        void watchStatus(msgs).catch(() => {});
        for await (const m of msgs) {
          // Stopped meanwhile: hand it straight back to the other replicas.
          if (!(await queue.put(m))) m.nak();
        }
        if (!stopping) await pause.sleep(rt.retryDelayMs); // ended on its own: do not spin
      } catch (err) {
        if (stopping) break;
        log.error({ err }, 'reading the change feed failed; retrying');
        await pause.sleep(rt.retryDelayMs);
      }
    }
  }

  /**
   * The stream's identity (its creation time) goes into every event id: a stream deleted and
   * created again restarts its sequence at 1, and its events must not pass for applied ones.
   */
  let identity = '';
  let highestSeq = 0;
  const refreshIdentity = async () => {
    const info = await jsm.streams.info(stream);
    identity = String(info.created).replace(/\D/g, '');
    highestSeq = 0;
  };
  await refreshIdentity();

  const deadLetterStream = `${stream}_DEADLETTER`;
  const deadLetterSubject = `deadletter.${stream}`;
  let deadLetterReady = false;
  async function deadLetter(m: JsMsg, eventId: string, reason: string, deliveries: number): Promise<void> {
    try {
      if (!deadLetterReady) {
        await jsm.streams.add({ name: deadLetterStream, subjects: [deadLetterSubject] }).catch(async (err) => {
          await jsm.streams.info(deadLetterStream).catch(() => Promise.reject(err));
        });
        deadLetterReady = true;
      }
      const h = headers();
      h.set('Integrity-Dead-Letter-Reason', reason.replace(/[\r\n]+/g, ' ').slice(0, 1000));
      h.set('Integrity-Event-Id', eventId);
      h.set('Integrity-Subject', m.subject);
      h.set('Integrity-Deliveries', String(deliveries));
      await js.publish(deadLetterSubject, m.data, { headers: h });
      m.ack();
      reportDeadLetter(rt, 'nats', { eventId, reason, deliveries, deadLetter: deadLetterSubject });
    } catch (err) {
      log.error({ err, eventId }, 'cannot move a change event to the dead letter; it is delivered again');
      m.nak(rt.retryDelayMs);
    }
  }

  async function handle(batch: JsMsg[]) {
    if (batch.some((m) => m.seq < highestSeq && m.info.deliveryCount === 1)) {
      // A first delivery behind what was seen: the stream was created again.
      await refreshIdentity().catch((err) => log.warn({ err }, 'cannot read the stream identity'));
    }
    const attempts: Attempt[] = [];
    const parsed: JsMsg[] = [];
    for (const m of batch) {
      highestSeq = Math.max(highestSeq, m.seq);
      const eventId = `nats:${stream}:${identity}:${m.seq}`;
      try {
        const event = parseDebezium(m.data.length === 0 ? null : JSON.parse(m.string()), rt.typesByTable, eventId, m.seq, rt.skew);
        if (event) {
          attempts.push({ event, deliveries: m.info.deliveryCount });
          parsed.push(m);
        } else {
          log.debug({ eventId, subject: m.subject }, 'change event ignored');
          feedMetrics.ignored.inc({ transport: 'nats' });
          m.ack();
        }
      } catch (err) {
        // A message nobody can read will never be readable: straight to the dead letter.
        await deadLetter(m, eventId, unreadableReason(err), m.info.deliveryCount);
      }
    }
    if (attempts.length === 0) return;
    const keepAlive = setInterval(
      () => {
        for (const m of parsed) m.working();
      },
      Math.max(1000, rt.ackWaitMs / 2),
    );
    try {
      const verdicts = await applyIsolated(rt, 'nats', attempts);
      for (const [i, v] of verdicts.entries()) {
        const m = parsed[i];
        if (v.kind === 'done') m.ack();
        else if (v.kind === 'dead') await deadLetter(m, attempts[i].event.eventId!, v.reason, attempts[i].deliveries);
        else {
          log.error(
            { err: v.error, eventId: attempts[i].event.eventId, deliveries: attempts[i].deliveries },
            'applying a change event failed; redelivery after delay',
          );
          m.nak(rt.retryDelayMs);
        }
      }
    } finally {
      clearInterval(keepAlive);
    }
  }

  async function applyLoop() {
    while (true) {
      const batch = await queue.take(rt.batchSize);
      if (batch.length === 0) return;
      await handle(batch);
    }
  }

  const reading = read();
  const processing = applyLoop();
  log.info('change feed started');

  return {
    async stop() {
      if (stopping) return;
      stopping = true;
      pause.interrupt();
      const leftover = queue.close();
      await (messages as ConsumerMessages | null)?.close();
      await processing;
      await reading;
      for (const m of leftover) m.nak();
      if (!nc.isClosed()) await nc.drain(); // flushes the acks before closing
      log.info('change feed stopped');
    },
  };
}
