import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { redisSequence } from '../position.js';
import { Pause, parseDebezium, unreadableReason, type FeedRuntime } from './events.js';
import { applyIsolated, reportDeadLetter, type Attempt, type Verdict } from './isolation.js';
import { feedMetrics } from './metrics.js';

export interface RedisFeedOptions extends FeedRuntime {
  /** Pending entries idle this long are taken over from their consumer (presumed dead). */
  claimIdleMs: number;
  /** Longest single XREADGROUP BLOCK. */
  blockMs: number;
  /** This replica's name inside the group; unique by default. */
  consumerName?: string;
}

type Entry = { id: string; fields: string[] | null };

function entriesOf(list: unknown): Entry[] {
  if (!Array.isArray(list)) return [];
  return list
    .filter((e): e is [string, unknown] => Array.isArray(e) && typeof e[0] === 'string')
    .map(([id, fields]) => ({ id, fields: Array.isArray(fields) ? fields.map(String) : null }));
}

/** XREADGROUP reply: null on timeout, else [[key, entries]]. */
function readReply(reply: unknown): Entry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const first = reply[0] as unknown[];
  return entriesOf(first[1]);
}

/** The message body: the `value` field as JSON (Debezium Server's extended format), else all fields. */
function bodyOf(fields: string[]): unknown {
  const obj: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) obj[fields[i]] = fields[i + 1];
  if ('value' in obj) return obj.value === '' ? null : JSON.parse(obj.value);
  return obj;
}

/** `redis://[user:pass@]host:port/KEY[?db=N]`: the stream KEY through a consumer group. */
export async function startRedisFeed(url: URL, rt: RedisFeedOptions): Promise<{ stop(): Promise<void> }> {
  const key = decodeURIComponent(url.pathname.replace(/^\/+/, ''));
  if (!key) throw new Error('CHANGE_FEED_URL: name the Redis stream key, as in redis://host:6379/KEY');
  const group = rt.consumer;
  const me = rt.consumerName ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const log = rt.log.child({ feed: 'redis', stream: key, group, consumer: me });
  const db = url.searchParams.get('db');
  const cmd = new Redis({
    host: url.hostname || '127.0.0.1',
    port: Number(url.port || 6379),
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db: db ? Number(db) : 0,
    tls: url.protocol === 'rediss:' ? {} : undefined,
    lazyConnect: true,
    connectionName: `integrity-subgraph-feed:${me}`,
  });
  // Blocking reads get their own connection, so stop() can cut one short without losing acks.
  const reader = cmd.duplicate();
  for (const c of [cmd, reader]) c.on('error', (err) => log.warn({ err }, 'redis connection error'));

  const ensureGroup = async () => {
    try {
      // From the start of the stream: a new group applies old events again, which is harmless.
      await cmd.call('XGROUP', 'CREATE', key, group, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).startsWith('BUSYGROUP')) throw err;
    }
  };
  try {
    await cmd.connect();
    await reader.connect();
    await ensureGroup();
  } catch (err) {
    cmd.disconnect();
    reader.disconnect();
    throw new Error(`CHANGE_FEED_URL: cannot read Redis stream "${key}": ${(err as Error).message}`, { cause: err });
  }

  let stopping = false;
  let blocking = false;
  /** Entries of this consumer that failed, by entry id: when each is due again. They stay pending meanwhile. */
  const due = new Map<string, number>();
  let claimCursor = '0-0';
  let nextClaimAt = 0;
  const claimEveryMs = Math.max(100, Math.floor(rt.claimIdleMs / 2));
  const pause = new Pause();

  /** Deliveries per entry id as this process counts them (XPENDING's counter may lag for history reads). */
  const delivered = new Map<string, number>();
  const deadLetterKey = `${key}:deadletter`;

  async function deliveriesOf(ids: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (!ids.length) return out;
    const pending = (await cmd.call('XPENDING', key, group, ids[0], ids[ids.length - 1], ids.length * 2, me)) as unknown[];
    for (const p of pending) {
      if (Array.isArray(p)) out.set(String(p[0]), Number(p[3]));
    }
    return out;
  }

  async function deadLetter(id: string, fields: string[] | null, reason: string, deliveries: number): Promise<void> {
    const eventId = `redis:${key}:${id}`;
    await cmd.call(
      'XADD',
      deadLetterKey,
      '*',
      ...(fields ?? []),
      'dead_letter_reason',
      reason,
      'dead_letter_event_id',
      eventId,
      'dead_letter_deliveries',
      String(deliveries),
    );
    await cmd.call('XACK', key, group, id);
    delivered.delete(id);
    reportDeadLetter(rt, 'redis', { eventId, reason, deliveries, deadLetter: deadLetterKey });
  }

  async function handle(entries: Entry[]) {
    const attempts: Attempt[] = [];
    const parsed: Entry[] = [];
    const skippedIds: string[] = [];
    const counted = await deliveriesOf(entries.map((e) => e.id));
    for (const entry of entries) {
      const { id, fields } = entry;
      const eventId = `redis:${key}:${id}`;
      const deliveries = Math.max((delivered.get(id) ?? 0) + 1, counted.get(id) ?? 1);
      delivered.set(id, deliveries);
      if (fields === null) {
        skippedIds.push(id); // trimmed or deleted from the stream while pending
        continue;
      }
      try {
        const event = parseDebezium(bodyOf(fields), rt.typesByTable, eventId, redisSequence(id), rt.skew);
        if (event) {
          attempts.push({ event, deliveries });
          parsed.push(entry);
        } else {
          log.debug({ eventId }, 'change event ignored');
          feedMetrics.ignored.inc({ transport: 'redis' });
          skippedIds.push(id);
        }
      } catch (err) {
        // An entry nobody can read will never be readable: straight to the dead letter.
        await deadLetter(id, fields, unreadableReason(err), deliveries);
      }
    }
    if (skippedIds.length) {
      await cmd.call('XACK', key, group, ...skippedIds);
      for (const id of skippedIds) delivered.delete(id);
    }
    if (attempts.length === 0) return;
    const parsedIds = parsed.map((e) => e.id);
    // A long apply must not look like a dead consumer to the other replicas' XAUTOCLAIM.
    const keepAlive = setInterval(() => {
      cmd.call('XCLAIM', key, group, me, 0, ...parsedIds, 'JUSTID').catch(() => {});
    }, claimEveryMs);
    let verdicts: Verdict[];
    try {
      verdicts = await applyIsolated(rt, 'redis', attempts);
    } finally {
      clearInterval(keepAlive);
    }
    const done = parsedIds.filter((_, i) => verdicts[i].kind === 'done');
    if (done.length) await cmd.call('XACK', key, group, ...done);
    for (const id of done) delivered.delete(id);
    let outage = false;
    for (const [i, v] of verdicts.entries()) {
      if (v.kind === 'dead') await deadLetter(parsed[i].id, parsed[i].fields, v.reason, attempts[i].deliveries);
      else if (v.kind === 'retry') {
        // It stays pending on this consumer and is taken again once due; the entries behind it go on.
        due.set(parsed[i].id, Date.now() + rt.retryDelayMs);
        outage ||= v.outage;
        log.error(
          { err: v.error, eventId: attempts[i].event.eventId, deliveries: attempts[i].deliveries },
          'applying a change event failed; retrying after delay',
        );
      }
    }
    // Nothing could be applied (the operational store is down): back off instead of running through the stream.
    if (outage) await pause.sleep(rt.retryDelayMs);
  }

  /** This consumer's failed entries that are due again, in stream order (XCLAIM counts the delivery). */
  async function dueAgain(): Promise<Entry[]> {
    const now = Date.now();
    const ids = [...due.entries()].filter(([, at]) => at <= now).map(([id]) => id);
    if (!ids.length) return [];
    const batch = ids.sort((a, b) => (redisSequence(a) < redisSequence(b) ? -1 : 1)).slice(0, rt.batchSize);
    for (const id of batch) due.delete(id);
    // Not if another consumer took it over meanwhile (its idle time was reset then).
    return entriesOf(await cmd.call('XCLAIM', key, group, me, Math.floor(rt.retryDelayMs / 2), ...batch));
  }

  const nextDue = () => Math.min(Infinity, ...due.values());

  async function next(): Promise<Entry[]> {
    const again = await dueAgain();
    if (again.length) return again;
    if (Date.now() >= nextClaimAt) {
      const reply = (await cmd.call('XAUTOCLAIM', key, group, me, rt.claimIdleMs, claimCursor, 'COUNT', rt.batchSize)) as unknown[];
      claimCursor = String(reply[0]);
      if (claimCursor === '0-0') nextClaimAt = Date.now() + claimEveryMs;
      const claimed = entriesOf(reply[1]);
      if (claimed.length) log.info({ entries: claimed.length }, 'took over change events left pending by another consumer');
      return claimed;
    }
    if (stopping) return [];
    const blockMs = Math.max(1, Math.min(rt.blockMs, nextClaimAt - Date.now(), nextDue() - Date.now()));
    blocking = true;
    try {
      return readReply(await reader.call('XREADGROUP', 'GROUP', group, me, 'COUNT', rt.batchSize, 'BLOCK', blockMs, 'STREAMS', key, '>'));
    } finally {
      blocking = false;
    }
  }

  async function loop() {
    while (!stopping) {
      try {
        const entries = await next();
        if (entries.length) await handle(entries);
      } catch (err) {
        if (stopping) break;
        if (String((err as Error).message).startsWith('NOGROUP')) {
          log.warn('consumer group or stream is gone; creating it again');
          await ensureGroup().catch((e) => log.error({ err: e }, 'cannot create the consumer group'));
          continue;
        }
        log.error({ err }, 'reading the change feed failed; retrying');
        await pause.sleep(rt.retryDelayMs);
      }
    }
  }

  const running = loop();
  log.info('change feed started');

  return {
    async stop() {
      if (stopping) return;
      stopping = true;
      pause.interrupt();
      if (blocking) reader.disconnect();
      // Redis unreachable: commands would wait out their retries.
      if (cmd.status !== 'ready') cmd.disconnect();
      await running;
      reader.disconnect();
      if (cmd.status === 'ready') {
        try {
          // Forget this consumer name unless something is still pending on it (others will claim that).
          const pending = (await cmd.call('XPENDING', key, group, '-', '+', 1, me)) as unknown[];
          if (pending.length === 0) await cmd.call('XGROUP', 'DELCONSUMER', key, group, me);
        } catch (err) {
          log.debug({ err }, 'cannot remove the consumer from the group');
        }
        await cmd.quit().catch(() => cmd.disconnect());
      } else {
        cmd.disconnect();
      }
      log.info('change feed stopped');
    },
  };
}
