/**
 * Instants are stored as `YYYY-MM-DD HH:MM:SS.ffffff` strings in UTC on every store: they sort
 * as text, keep microseconds (MySQL's clock has them), and no driver converts them to local time.
 */
export type Timestamp = string;

const STORED = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?$/;
const ISO = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:?\d{2})?$/;

/** Pads the fraction of a stored value to six digits so comparison as text is exact. */
export function normalizeStored(value: string): Timestamp {
  const m = STORED.exec(value);
  if (!m) throw new Error(`not a stored timestamp: ${value}`);
  return `${m[1]} ${m[2]}.${(m[3] ?? '').padEnd(6, '0')}`;
}

export function toIso(ts: Timestamp): string {
  const n = normalizeStored(ts);
  return `${n.slice(0, 10)}T${n.slice(11)}Z`;
}

/** Parses an ISO-8601 instant from a user; returns null when it is not one. */
export function fromIso(value: string): Timestamp | null {
  const m = ISO.exec(value.trim());
  if (!m) return null;
  const [, date, time, frac = '', zone] = m;
  if (!zone) return null; // an instant without a zone is ambiguous
  const hhmmss = time.length === 5 ? `${time}:00` : time;
  if (!realDate(date) || !realTime(hhmmss) || !realZone(zone)) return null;
  const micros = frac.padEnd(6, '0').slice(0, 6);
  const base = new Date(`${date}T${hhmmss}.000${zone.toUpperCase() === 'Z' ? 'Z' : zone}`);
  if (Number.isNaN(base.getTime())) return null;
  const iso = base.toISOString(); // UTC, milliseconds zero
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${micros}`;
}

/** Date parsing rolls 2026-02-30 over to March 2nd; a user who wrote it meant something else. */
function realDate(date: string): boolean {
  const [y, m, d] = date.split('-').map(Number);
  if (y < 1 || m < 1 || m > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/** 24:00:00 (end of day) and leap seconds read as the next day or minute: refused, say 00:00 of the next day. */
function realTime(hhmmss: string): boolean {
  const [h, m, s] = hhmmss.split(':').map(Number);
  return h <= 23 && m <= 59 && s <= 59;
}

function realZone(zone: string): boolean {
  const m = /^[+-](\d{2}):?(\d{2})$/.exec(zone);
  return !m || (Number(m[1]) <= 23 && Number(m[2]) <= 59);
}

function toEpochMicros(ts: Timestamp): bigint {
  const n = normalizeStored(ts);
  const ms = Date.parse(`${n.slice(0, 10)}T${n.slice(11, 19)}Z`);
  return BigInt(ms) * 1000n + BigInt(n.slice(20));
}

function fromEpochMicros(us: bigint): Timestamp {
  const ms = Number(us / 1000n);
  const iso = new Date(Math.floor(ms / 1000) * 1000).toISOString();
  const micros = (us % 1_000_000n).toString().padStart(6, '0');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${micros}`;
}

export function addSeconds(ts: Timestamp, seconds: number): Timestamp {
  return fromEpochMicros(toEpochMicros(ts) + BigInt(Math.round(seconds * 1_000_000)));
}

export function addMicros(ts: Timestamp, micros: number): Timestamp {
  return fromEpochMicros(toEpochMicros(ts) + BigInt(micros));
}
