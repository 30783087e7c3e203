import { describe, expect, it } from 'vitest';
import { QueryFailedError } from 'typeorm';
import { StoreUnavailableError, asStoreError } from '../src/data/store-errors.js';
import { outageReason } from '../src/util/outage.js';

const err = (props: Record<string, unknown>, message = 'driver text with host db-7.internal and user admin') =>
  Object.assign(new Error(message), props);

describe('outageReason: what went wrong with a store, in words', () => {
  it.each([
    ['MariaDB access denied', err({ code: 'ER_ACCESS_DENIED_ERROR', errno: 1045 }), 'rejected the credentials'],
    [
      'MariaDB access denied, no code attached',
      err({}, "Access denied for user 'x'@'10.0.0.2' (using password: YES)"),
      'rejected the credentials',
    ],
    ['MariaDB access denied without a password (1698)', err({ errno: 1698 }), 'rejected the credentials'],
    ['MariaDB unknown database', err({ errno: 1049 }), 'database not found'],
    ['MariaDB max_statement_time (no code from mysql2)', err({ errno: 1969 }), 'timed out'],
    ['mysql2 query timeout', err({ code: 'PROTOCOL_SEQUENCE_TIMEOUT' }), 'timed out'],
    ['connection refused', err({ code: 'ECONNREFUSED' }), 'refused the connection'],
    ['DNS failure', err({ code: 'ENOTFOUND' }), 'host not found'],
    ['connection lost', err({ code: 'PROTOCOL_CONNECTION_LOST' }), 'lost the connection'],
    ['PostgreSQL bad password', err({ code: '28P01' }), 'rejected the credentials'],
    ['PostgreSQL statement cancelled', err({ code: '57014' }), 'timed out'],
    ['SQLite locked (extended code)', err({ code: 'SQLITE_BUSY_SNAPSHOT' }), 'is locked by another connection'],
    ['SQLite cannot open', err({ code: 'SQLITE_CANTOPEN' }), 'cannot open the database file'],
    [
      'an AggregateError of connect attempts',
      new AggregateError([err({ code: 'ECONNREFUSED' }), err({ code: 'ECONNREFUSED' })]),
      'refused the connection',
    ],
    [
      'a cause two levels down',
      new Error('fetch failed', { cause: new Error('x', { cause: err({ code: 'ECONNRESET' }) }) }),
      'lost the connection',
    ],
  ])('%s', (_, e, reason) => {
    expect(outageReason(e)).toBe(reason);
  });

  it('is undefined for errors that are not outages (bugs, constraints), which pass through unchanged', () => {
    const duplicate = err({ code: 'ER_DUP_ENTRY', errno: 1062 });
    expect(outageReason(duplicate)).toBeUndefined();
    expect(outageReason(new TypeError('x is undefined'))).toBeUndefined();
    expect(asStoreError(duplicate)).toBe(duplicate);
  });

  it('unwraps TypeORM query errors, and the message never carries the driver text', () => {
    const failed = new QueryFailedError('SELECT 1', [], err({ code: 'ER_ACCESS_DENIED_ERROR', errno: 1045 }));
    const store = asStoreError(failed) as StoreUnavailableError;
    expect(store).toBeInstanceOf(StoreUnavailableError);
    expect(store.message).toBe('The operational store is unavailable: rejected the credentials');
    expect(store.cause).toBe(failed);
    expect(store.message).not.toMatch(/db-7|admin|driver/);
  });
});
