import type { Logger } from 'pino';
import type { RemoteTypeDef } from '../../model/model.js';
import type { RemoteKey } from '../hash.js';
import { beyondSkew, debeziumPosition, PositionOutOfRangeError, type FeedPosition } from '../position.js';

/** One change of one remote entity, as the cache applies it. */
export interface RemoteChangeEvent {
  entityType: string;
  key: RemoteKey;
  op: 'UPSERT' | 'DELETE';
  /** The new entity (field names of the remote type), for UPSERT. */
  entity?: Record<string, unknown> | null;
  /** Transport position: applying the same id twice is a no-op. */
  eventId?: string | null;
  /** Source position (src/remote/position.ts): the cache takes only what is newer than what it took on the same clock. */
  position?: FeedPosition | null;
}

/** The message is not a change event this parser can read (as opposed to one it deliberately ignores). */
export class MalformedChangeEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedChangeEventError';
  }
}

/** The event can be read but must not be applied (dated too far ahead): it goes to the dead letter with this reason. */
export class RefusedChangeEventError extends MalformedChangeEventError {
  constructor(message: string) {
    super(message);
    this.name = 'RefusedChangeEventError';
  }
}

/** The dead-letter reason of an event that could not be parsed or was refused. */
export const unreadableReason = (err: unknown) =>
  err instanceof RefusedChangeEventError ? `refused: ${err.message}` : `cannot be read: ${(err as Error).message}`;

/** How far ahead of this host's clock an event may be dated. */
export interface SkewCheck {
  maxSkewMs: number;
  nowMs?: () => number;
}

type Row = Record<string, unknown>;

const isObject = (v: unknown): v is Row => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Sinks that flatten an event into string fields (Redis hashes/streams) leave nested parts as JSON text. */
function decode(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const t = v.trim();
  if (t === 'null' || t.startsWith('{')) {
    try {
      return JSON.parse(t);
    } catch {
      return v;
    }
  }
  return v;
}

/** Types without a table (non-SQL sources) are matched by their name. The first type claiming a table wins. */
export function typesByTableOf(
  types: Iterable<RemoteTypeDef>,
  onDuplicate?: (table: string, kept: RemoteTypeDef, dropped: RemoteTypeDef) => void,
): Map<string, RemoteTypeDef> {
  const map = new Map<string, RemoteTypeDef>();
  for (const t of types) {
    const table = t.table ?? t.name;
    const kept = map.get(table);
    if (kept) onDuplicate?.(table, kept, t);
    else map.set(table, t);
  }
  return map;
}

function fieldsOf(type: RemoteTypeDef): string[] {
  return [...new Set([...type.key, ...(type.fields ?? []), ...Object.keys(type.columns ?? {})])];
}

const columnOf = (type: RemoteTypeDef, field: string) => type.columns?.[field] ?? field;

function keyValue(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function mapRow(type: RemoteTypeDef, row: Row): Record<string, unknown> {
  const entity: Record<string, unknown> = {};
  for (const field of fieldsOf(type)) {
    const column = columnOf(type, field);
    if (Object.hasOwn(row, column)) entity[field] = row[column];
  }
  return entity;
}

function keyOf(type: RemoteTypeDef, row: Row, table: string): RemoteKey {
  const key: RemoteKey = {};
  for (const field of type.key) {
    const value = keyValue(row[columnOf(type, field)]);
    if (value === null) {
      throw new MalformedChangeEventError(
        `change event for table "${table}" has no value for key column "${columnOf(type, field)}" (${type.name}.${field})`,
      );
    }
    key[field] = value;
  }
  return key;
}

/**
 * Reads a Debezium change event, enveloped (`{ schema, payload }`) or bare
 * (`{ op, before, after, source }`). Returns null for what is deliberately ignored: tombstones,
 * tables no remote type maps, and operations other than c/u/r/d (truncate, messages). Throws
 * MalformedChangeEventError for messages that cannot be read at all.
 *
 * The event id is always `fallbackEventId` (the transport's position). The source position comes
 * from the `source` block (ts_ms, binlog file/pos/row or lsn), with `sequence` (the transport's
 * order) as tie-break: it orders events per key whatever order they arrive in.
 */
export function parseDebezium(
  message: unknown,
  typesByTable: Map<string, RemoteTypeDef>,
  fallbackEventId: string,
  sequence: bigint | number = 0,
  skew?: SkewCheck,
): RemoteChangeEvent | null {
  let value = decode(message);
  if (value === null || value === undefined) return null; // tombstone
  if (typeof value === 'string' && value.trim() === '') return null;
  if (!isObject(value)) throw new MalformedChangeEventError('change event is not a JSON object');
  if ('payload' in value && !('op' in value)) {
    value = decode(value.payload);
    if (value === null || value === undefined) return null; // enveloped tombstone
    if (!isObject(value)) throw new MalformedChangeEventError('change event payload is not an object');
  }
  const op = value.op;
  if (typeof op !== 'string') throw new MalformedChangeEventError('change event has no "op"');
  const source = decode(value.source);
  if (!isObject(source)) throw new MalformedChangeEventError('change event has no "source"');
  const table = typeof source.table === 'string' ? source.table : typeof source.collection === 'string' ? source.collection : null;
  if (table === null) throw new MalformedChangeEventError('change event has no "source.table"');
  const schema = typeof source.schema === 'string' ? source.schema : typeof source.db === 'string' ? source.db : null;
  // Schema-qualified first (`public.employee`), then bare.
  const type = (schema !== null ? typesByTable.get(`${schema}.${table}`) : undefined) ?? typesByTable.get(table);
  if (!type) return null;
  let position: FeedPosition | null;
  try {
    position = debeziumPosition(source, value.ts_ms, sequence);
  } catch (err) {
    if (err instanceof PositionOutOfRangeError) throw new MalformedChangeEventError(`change event on "${table}": ${err.message}`);
    throw err;
  }
  const ahead = skew ? beyondSkew(position, (skew.nowMs ?? Date.now)(), skew.maxSkewMs) : null;
  if (ahead !== null) {
    throw new RefusedChangeEventError(
      `change event on "${table}" is dated ${Math.round(ahead / 1000)} s ahead of now, more than CHANGE_FEED_MAX_CLOCK_SKEW_SECONDS (${Math.round(skew!.maxSkewMs / 1000)} s): its clock is wrong (or ts_ms is not in milliseconds)`,
    );
  }

  switch (op) {
    case 'c':
    case 'u':
    case 'r': {
      const after = decode(value.after);
      if (!isObject(after)) throw new MalformedChangeEventError(`change event "${op}" on "${table}" has no "after" row`);
      return {
        entityType: type.name,
        key: keyOf(type, after, table),
        op: 'UPSERT',
        entity: mapRow(type, after),
        eventId: fallbackEventId,
        position,
      };
    }
    case 'd': {
      const before = decode(value.before);
      if (!isObject(before)) throw new MalformedChangeEventError(`change event "d" on "${table}" has no "before" row`);
      return { entityType: type.name, key: keyOf(type, before, table), op: 'DELETE', entity: null, eventId: fallbackEventId, position };
    }
    default:
      return null;
  }
}

/** What both transports need. */
export interface FeedRuntime {
  apply: (events: RemoteChangeEvent[]) => Promise<unknown>;
  typesByTable: Map<string, RemoteTypeDef>;
  /** Durable consumer (NATS) or consumer group (Redis) name: replicas sharing it share the work. */
  consumer: string;
  log: Logger;
  batchSize: number;
  /** How long a failed batch waits before it is delivered again. */
  retryDelayMs: number;
  /** Deliveries of one event before it goes to the dead letter. */
  maxDeliveries: number;
  /** Events dated further ahead go to the dead letter at once. */
  skew: SkewCheck;
}

/** A sleep that stop() can cut short. */
export class Pause {
  private wake: (() => void) | null = null;
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        if (self.wake === done) self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }
  interrupt(): void {
    this.wake?.();
  }
}
