import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execClientSql } from '../src/remote/client-demo.js';
import { codes, startTestServer, type TestServer } from './support/server.js';
import { OPERATIONAL_KINDS } from './support/stores.js';

/**
 * Issue 17, requirement 7 (and 6): a remote entity that does not fit its type is refused on every
 * path, browsing the store included. One operation that browses the store and looks the same key
 * up through `_entities` must not serve on one path what it refuses on the other.
 */

const BROWSE_AND_LOOKUP = `query($r: [_Any!]!) {
  employees(first: 100) { employeeId name }
  _entities(representations: $r) { ... on Employee { employeeId name } }
}`;

describe.each(OPERATIONAL_KINDS)('browsing a remote store checks what it answers (operational %s, client mariadb)', (op) => {
  let s: TestServer;

  beforeAll(async () => {
    s = await startTestServer(op, { client: 'mariadb' });
  }, 120_000);
  afterAll(async () => {
    await s?.close();
  });

  it('an entity that does not fit its type is refused while browsing, as `_entities` refuses it, never served', async () => {
    await execClientSql(s.clientUrl, [
      `ALTER TABLE employee MODIFY name TEXT NOT NULL`,
      `INSERT INTO employee (employee_id, name) VALUES ('e-long', REPEAT('z', 300))`,
    ]);
    try {
      const r = [{ __typename: 'Employee', employeeId: 'e-long' }];
      // The browse list is non-null, so its refusal nulls the answer: that error alone is reported.
      const res = await s.gql(BROWSE_AND_LOOKUP, { r });
      expect(codes(res)).toEqual(['REMOTE_SOURCE_UNAVAILABLE']);
      expect(res.errors![0].path).toEqual(['employees']);
      // The lookup of the same key refuses it just the same.
      const lookup = await s.gql(`query($r: [_Any!]!) { _entities(representations: $r) { ... on Employee { employeeId name } } }`, { r });
      expect(codes(lookup)).toEqual(['REMOTE_SOURCE_UNAVAILABLE']);
      for (const e of [...res.errors!, ...lookup.errors!])
        expect(e.message).toMatch(/does not fit its type: Employee\.name is longer than 200/);
      expect(JSON.stringify([res.data ?? null, lookup.data ?? null])).not.toContain('zzzz');
      // A page that does not hold it is served.
      const before = await s.gql(`{ employees(first: 3) { employeeId } }`);
      expect(before.errors).toBeUndefined();
      expect(before.data!.employees).toHaveLength(3);
    } finally {
      await execClientSql(s.clientUrl, [
        `DELETE FROM employee WHERE employee_id = 'e-long'`,
        `ALTER TABLE employee MODIFY name VARCHAR(200) NOT NULL`,
      ]);
    }
    const res = await s.gql(BROWSE_AND_LOOKUP, { r: [{ __typename: 'Employee', employeeId: 'e-1' }] });
    expect(res.errors).toBeUndefined();
  });
});
