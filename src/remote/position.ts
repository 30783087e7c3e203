/**
 * Source positions of change events: where in a remote store's history a change comes from, and
 * which clock says so. Positions of different clocks are never compared (docs/semantics.md, "Convergence"):
 *
 * - `binlog`: MySQL binlog file number, `pos`, `row`: commit order, whatever `ts_ms` says (MySQL's
 *   `ts_ms` is the statement's start, in whole seconds).
 * - `lsn`: PostgreSQL `lsn`: a row's changes are in lsn order.
 * - `ts`: only a time (`source.ts_ms`, else the envelope's): the connector's clock.
 *
 * The transport's sequence (NATS stream sequence, Redis entry id) breaks ties within one clock.
 * A refetch from a store is not a feed position at all: it is ordered by the operational store's
 * clock (remote_ref.state_at), so neither a store's clock nor a replica's clock is ever compared
 * with a feed position.
 *
 * `value` is fixed-width digits, so text order is numeric order on every collation:
 *   AAAAAAAAAAAAAAAAAAAA-BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB-SSSSSSSSSSSSSSSSSSSSSSSS
 *   major (20)            minor (40)                                 transport sequence (24)
 * binlog: major = file number, minor = pos (20) + row (20); lsn: major = 0, minor = lsn;
 * ts: major = ts_ms. A component that does not fit is refused, never clamped: a clamped value
 * would be newer than every later position of its clock.
 */
export type PositionClock = 'binlog' | 'lsn' | 'ts';

export interface FeedPosition {
  clock: PositionClock;
  value: string;
  /** When the change happened by the connector's clock (epoch ms), when it says: the lag metric and the skew check. */
  tsMs: number | null;
}

const MAJOR = 20;
const MINOR = 40;
const SEQ = 24;

export class PositionOutOfRangeError extends RangeError {}

function digits(value: bigint, width: number, what: string): string {
  if (value < 0n) throw new PositionOutOfRangeError(`${what} is negative`);
  const s = value.toString();
  if (s.length > width) throw new PositionOutOfRangeError(`${what} has more than ${width} digits`);
  return s.padStart(width, '0');
}

export function encodeFeedPosition(
  clock: PositionClock,
  major: bigint,
  minor: bigint,
  sequence: bigint,
  tsMs: number | null,
): FeedPosition {
  return {
    clock,
    value: `${digits(major, MAJOR, 'the position')}-${digits(minor, MINOR, 'the position')}-${digits(sequence, SEQ, 'the transport sequence')}`,
    tsMs,
  };
}

const POSITION_VALUE = /^\d{20}-\d{40}-\d{24}$/;
export const isPositionValue = (v: string) => POSITION_VALUE.test(v);

const integer = (v: unknown): bigint | undefined => {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'bigint' && v >= 0n) return v;
  if (typeof v === 'string' && /^\d{1,40}$/.test(v.trim())) return BigInt(v.trim());
  return undefined;
};

/** `mysql-bin.000042` → 42. */
const binlogNumber = (file: unknown): bigint | undefined => {
  if (typeof file !== 'string') return undefined;
  const m = /(\d{1,20})$/.exec(file);
  return m ? BigInt(m[1]) : undefined;
};

/**
 * The position of a Debezium event from its `source` block (the envelope's `ts_ms` when the
 * source has none), with the transport's sequence as tie-break. Null when the event carries no
 * position at all: the caller then applies it as of the moment it applies it. Throws
 * PositionOutOfRangeError for a position that does not fit (the event goes to the dead letter).
 */
export function debeziumPosition(source: Record<string, unknown>, envelopeTsMs: unknown, sequence: bigint | number): FeedPosition | null {
  const ts = integer(source.ts_ms) ?? integer(envelopeTsMs);
  const tsMs = ts === undefined ? null : Number(ts);
  const seq = BigInt(sequence);
  const lsn = integer(source.lsn);
  if (lsn !== undefined) return encodeFeedPosition('lsn', 0n, lsn, seq, tsMs);
  const file = binlogNumber(source.file);
  const pos = integer(source.pos);
  if (file !== undefined && pos !== undefined) {
    return encodeFeedPosition(
      'binlog',
      file,
      BigInt(digits(pos, 20, 'the binlog pos') + digits(integer(source.row) ?? 0n, 20, 'the binlog row')),
      seq,
      tsMs,
    );
  }
  if (ts === undefined) return null;
  return encodeFeedPosition('ts', ts, 0n, seq, tsMs);
}

/** `1712345678901-7` → a number that keeps Redis's order (ms, then the sequence within it). */
export function redisSequence(entryId: string): bigint {
  const [ms, seq] = entryId.split('-');
  return BigInt(ms || 0) * 1_000_000_000n + BigInt(seq || 0);
}

/** Whether `candidate` is newer than what a row last took from the feed; a position of another clock tells nothing. */
export function isNewerOnClock(candidate: FeedPosition, clock: string | null, value: string | null): 'newer' | 'older' | 'other-clock' {
  if (clock === null || value === null || clock !== candidate.clock) return 'other-clock';
  return candidate.value > value ? 'newer' : 'older';
}

/**
 * How far ahead of `nowMs` an event is dated, in ms, when it is beyond the allowed skew (null when
 * it is not). A `ts_ms` in microseconds is about 1000 times now: far beyond any skew.
 */
export function beyondSkew(position: FeedPosition | null | undefined, nowMs: number, maxSkewMs: number): number | null {
  if (!position || position.tsMs === null) return null;
  const ahead = position.tsMs - nowMs;
  return ahead > maxSkewMs ? ahead : null;
}
