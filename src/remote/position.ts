/**
 * Source positions: where in a remote store's history a cached state comes from, encoded so that
 * one string column orders them (`remote_ref.source_position`, compared with `<` in SQL).
 *
 * Layout (fixed width, digits only, so text order is numeric order on every collation):
 *
 *   TTTTTTTTTTTTTTT-FFFFFFFFFFPPPPPPPPPPPPPPPPPPPPRRRRRRRRRR-SSSSSSSSSSSSSSSSSSSSSSSS
 *   ts_ms (15)      connector position (10 + 20 + 10)         transport sequence (24)
 *
 * - ts_ms: when the change was committed in the store (Debezium `source.ts_ms`), or the store's
 *   clock when a refetch read it. This is what orders a refetch against an event.
 * - connector position, within one millisecond: MySQL binlog file number, `pos` and `row`;
 *   PostgreSQL `lsn` (in the middle field). A refetch has zeros here, so an event committed in
 *   the same millisecond as the refetch's clock reading wins: the clock is read when the read
 *   starts, so such an event may be newer than what was read, never provably older.
 * - transport sequence: the broker's order (NATS stream sequence, Redis entry id), only a
 *   tie-break between events that carry the same source position.
 */
export type SourcePosition = string;

const TS = 15;
const FILE = 10;
const POS = 20;
const ROW = 10;
const SEQ = 24;

export interface PositionParts {
  tsMs: bigint | number;
  file?: bigint | number;
  pos?: bigint | number;
  row?: bigint | number;
  /** Transport order; for Redis ids `ms-seq`, pass the pair as ms * 1e9 + seq. */
  sequence?: bigint | number;
}

function digits(value: bigint | number | undefined, width: number): string {
  const v = BigInt(value ?? 0);
  if (v < 0n) return '0'.repeat(width);
  const s = v.toString();
  return s.length > width ? '9'.repeat(width) : s.padStart(width, '0');
}

export function encodePosition(p: PositionParts): SourcePosition {
  return `${digits(p.tsMs, TS)}-${digits(p.file, FILE)}${digits(p.pos, POS)}${digits(p.row, ROW)}-${digits(p.sequence, SEQ)}`;
}

/** The position of a read of the store at its clock `tsMs` (epoch milliseconds). */
export const readPosition = (tsMs: number): SourcePosition => encodePosition({ tsMs: Math.floor(tsMs) });

/** Epoch milliseconds of a position (for the lag metric). */
export const positionMs = (p: SourcePosition): number => Number(p.slice(0, TS));

const integer = (v: unknown): bigint | undefined => {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return BigInt(Math.floor(v));
  if (typeof v === 'bigint' && v >= 0n) return v;
  if (typeof v === 'string' && /^\d+$/.test(v.trim())) return BigInt(v.trim());
  return undefined;
};

/** `mysql-bin.000042` → 42. */
const binlogNumber = (file: unknown): bigint | undefined => {
  if (typeof file !== 'string') return undefined;
  const m = /(\d+)$/.exec(file);
  return m ? BigInt(m[1]) : undefined;
};

/**
 * The position of a Debezium event from its `source` block (and the envelope's `ts_ms` when the
 * source has none), with the transport's sequence as tie-break. Null when the event carries no
 * time at all: the caller then uses the moment it applies it.
 */
export function debeziumPosition(source: Record<string, unknown>, envelopeTsMs: unknown, sequence: bigint | number): SourcePosition | null {
  const tsMs = integer(source.ts_ms) ?? integer(envelopeTsMs);
  if (tsMs === undefined) return null;
  const lsn = integer(source.lsn);
  if (lsn !== undefined) return encodePosition({ tsMs, pos: lsn, sequence });
  return encodePosition({ tsMs, file: binlogNumber(source.file), pos: integer(source.pos), row: integer(source.row), sequence });
}

/** `1712345678901-7` → a number that keeps Redis's order (ms, then the sequence within it). */
export function redisSequence(entryId: string): bigint {
  const [ms, seq] = entryId.split('-');
  return BigInt(ms || 0) * 1_000_000_000n + BigInt(seq || 0);
}

export const isNewer = (candidate: SourcePosition, current: SourcePosition | null): boolean => current === null || candidate > current;
