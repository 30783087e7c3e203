/**
 * What went wrong with a store, in words a caller may read: no driver text, host names or
 * credentials (those stay in the log). `undefined` when the error is not an outage (a bug, a
 * constraint violation): callers let such errors through unchanged.
 */
export function outageReason(err: unknown): string | undefined {
  for (const e of causes(err)) {
    const reason = reasonOf(e);
    if (reason) return reason;
  }
  return undefined;
}

/** The error, the driver error TypeORM wraps, causes, and the parts of an AggregateError. */
function* causes(err: unknown, depth = 0): Generator<Record<string, unknown>> {
  if (!err || typeof err !== 'object' || depth > 4) return;
  yield err as Record<string, unknown>;
  const e = err as { driverError?: unknown; cause?: unknown; errors?: unknown };
  if (e.driverError) yield* causes(e.driverError, depth + 1);
  if (e.cause) yield* causes(e.cause, depth + 1);
  if (err instanceof AggregateError) for (const inner of err.errors) yield* causes(inner, depth + 1);
}

const BY_CODE: Record<string, string> = {
  ECONNREFUSED: 'refused the connection',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'host unreachable',
  ETIMEDOUT: 'timed out',
  PROTOCOL_SEQUENCE_TIMEOUT: 'timed out',
  ECONNRESET: 'lost the connection',
  EPIPE: 'lost the connection',
  PROTOCOL_CONNECTION_LOST: 'lost the connection',
  ER_ACCESS_DENIED_ERROR: 'rejected the credentials',
  ER_DBACCESS_DENIED_ERROR: 'rejected the credentials',
  ER_ACCESS_DENIED_NO_PASSWORD_ERROR: 'rejected the credentials',
  ER_BAD_DB_ERROR: 'database not found',
  ER_CON_COUNT_ERROR: 'has too many connections',
  ER_STATEMENT_TIMEOUT: 'timed out',
  ER_QUERY_TIMEOUT: 'timed out',
  ER_LOCK_WAIT_TIMEOUT: 'timed out waiting for a lock',
  SQLITE_BUSY: 'is locked by another connection',
  SQLITE_LOCKED: 'is locked by another connection',
  SQLITE_CANTOPEN: 'cannot open the database file',
  SQLITE_NOTADB: 'the file is not a database',
  SQLITE_CORRUPT: 'the database file is damaged',
  // PostgreSQL SQLSTATEs
  '28P01': 'rejected the credentials',
  '28000': 'rejected the credentials',
  '3D000': 'database not found',
  '57014': 'timed out',
  '57P01': 'lost the connection',
  '53300': 'has too many connections',
};

const BY_ERRNO: Record<number, string> = {
  1044: 'rejected the credentials',
  1045: 'rejected the credentials',
  1698: 'rejected the credentials',
  1049: 'database not found',
  1040: 'has too many connections',
  1205: 'timed out waiting for a lock',
  1969: 'timed out',
  3024: 'timed out',
  2013: 'lost the connection',
};

function reasonOf(e: Record<string, unknown>): string | undefined {
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code) {
    if (BY_CODE[code]) return BY_CODE[code];
    const base = code.split('_').slice(0, 2).join('_');
    if (code.startsWith('SQLITE_') && BY_CODE[base]) return BY_CODE[base];
  }
  if (typeof e.errno === 'number' && BY_ERRNO[e.errno]) return BY_ERRNO[e.errno];
  const message = typeof e.message === 'string' ? e.message : '';
  if (/^Pool is closed|Can't add new command when connection is in closed state|Connection terminated/i.test(message))
    return 'lost the connection';
  if (/timeout exceeded when trying to connect|Connection terminated due to connection timeout/i.test(message)) return 'timed out';
  // MySQL/MariaDB's wording for every refused login, whichever of its codes came with it.
  if (/^Access denied for user /.test(message)) return 'rejected the credentials';
  return undefined;
}
