import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { until } from './support/poll.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRelationshipSchema } from '../src/model/load.js';
import { DEMO_EMPLOYEES, createClientTables, execClientSql, insertDemoClientRows } from '../src/remote/client-demo.js';
import { hashKey } from '../src/remote/hash.js';
import { GraphqlSource } from '../src/remote/sources/graphql-source.js';
import { resilienceFromEnv, resilient, type ResilienceSettings } from '../src/remote/sources/resilient-source.js';
import { SourceUnavailableError } from '../src/remote/sources/source.js';
import { SqlSource } from '../src/remote/sources/sql-source.js';
import { CLIENT_KINDS, tempClientStore, type TempStore } from './support/stores.js';

const schema = loadRelationshipSchema();
const Employee = schema.remoteType('Employee');

/** Waits for a synchronous condition over the shared bounded poll. */
const waitFor = (condition: () => boolean, what: string, limitMs = 10_000) => until(what, async () => condition(), limitMs, 5);

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e as Error,
  );

describe.each(CLIENT_KINDS)('resilient SqlSource on %s', (kind) => {
  let store: TempStore;
  const opened: SqlSource[] = [];
  const settings = (s: Partial<ResilienceSettings>): ResilienceSettings => ({
    timeoutMs: 10_000,
    retries: 0,
    breakerThreshold: 3,
    halfOpenAfterMs: 200,
    ...s,
  });
  const make = (s: Partial<ResilienceSettings>) => {
    const inner = new SqlSource('client', store.url);
    opened.push(inner);
    const queries: string[] = [];
    inner.onQuery((q) => queries.push(q));
    return { source: resilient(inner, settings(s)), queries };
  };
  const renameAway = () => execClientSql(store.url, ['ALTER TABLE employee RENAME TO employee_gone']);
  const renameBack = () => execClientSql(store.url, ['ALTER TABLE employee_gone RENAME TO employee']);

  beforeAll(async () => {
    store = await tempClientStore(kind);
    await createClientTables(store.url);
    await insertDemoClientRows(store.url);
  });

  afterAll(async () => {
    await Promise.all(opened.map((s) => s.close()));
    await store?.drop();
  });

  it('does not count a missing entity as a failure', async () => {
    const { source, queries } = make({ breakerThreshold: 1 });
    for (let i = 0; i < 4; i++) {
      expect((await source.fetchMany(Employee, [{ employeeId: `nobody-${i}` }])).size).toBe(0);
    }
    expect(source.state()).toBe('closed');
    expect(queries).toHaveLength(4);
  });

  it('opens after N consecutive failures, fails fast while open, and closes after a good probe', async () => {
    const { source, queries } = make({ breakerThreshold: 3, halfOpenAfterMs: 200 });
    expect((await source.fetchMany(Employee, [{ employeeId: 'e-1' }])).size).toBe(1);
    await renameAway();
    try {
      for (let i = 1; i <= 3; i++) {
        const err = await failure(source.fetchMany(Employee, [{ employeeId: 'e-1' }]));
        expect(err).toBeInstanceOf(SourceUnavailableError);
        expect(err.message).toBe('client store unavailable: table "employee" does not exist');
        expect(source.state()).toBe(i < 3 ? 'closed' : 'open');
      }
      expect(queries).toHaveLength(4);

      // Open: rejected at once, nothing reaches the store.
      for (let i = 0; i < 3; i++) {
        const err = await failure(source.fetchMany(Employee, [{ employeeId: 'e-1' }]));
        expect(err).toBeInstanceOf(SourceUnavailableError);
        expect(err.message).toMatch(/circuit open/);
        expect(err.message).toContain('table "employee" does not exist');
      }
      await expect(source.list(Employee, 5)).rejects.toThrow(/circuit open/);
      expect(queries).toHaveLength(4);
      expect(source.state()).toBe('open');

      // A probe while the table is still gone opens the circuit again.
      await waitFor(() => source.state() === 'half-open', 'half-open');
      const probe = await failure(source.fetchMany(Employee, [{ employeeId: 'e-1' }]));
      expect(probe.message).toMatch(/does not exist/);
      expect(queries).toHaveLength(5);
      expect(source.state()).toBe('open');
      await expect(source.fetchMany(Employee, [{ employeeId: 'e-1' }])).rejects.toThrow(/circuit open/);
      expect(queries).toHaveLength(5);
    } finally {
      await renameBack();
    }

    await waitFor(() => source.state() === 'half-open', 'half-open again');
    const found = await source.fetchMany(Employee, [{ employeeId: 'e-1' }]);
    expect(found.get(hashKey({ employeeId: 'e-1' }))).toEqual(DEMO_EMPLOYEES[0]);
    expect(source.state()).toBe('closed');
    expect(queries).toHaveLength(6);
    expect((await source.fetchMany(Employee, [{ employeeId: 'e-2' }])).size).toBe(1);
  });

  it('retries a failed call with back-off before giving up', async () => {
    const { source, queries } = make({ retries: 2, breakerThreshold: 10 });
    await renameAway();
    try {
      const err = await failure(source.fetchMany(Employee, [{ employeeId: 'e-1' }]));
      expect(err).toBeInstanceOf(SourceUnavailableError);
      expect(err.message).toMatch(/does not exist/);
      expect(queries).toHaveLength(3);
      expect(source.state()).toBe('closed');
    } finally {
      await renameBack();
    }
    expect((await source.fetchMany(Employee, [{ employeeId: 'e-1' }])).size).toBe(1);
    expect(queries).toHaveLength(4);
  });

  it('stops retrying as soon as the circuit opens', async () => {
    const { source, queries } = make({ retries: 5, breakerThreshold: 2, halfOpenAfterMs: 60_000 });
    await renameAway();
    try {
      const err = await failure(source.fetchMany(Employee, [{ employeeId: 'e-1' }]));
      expect(err.message).toMatch(/circuit open/);
      expect(queries).toHaveLength(2);
      expect(source.state()).toBe('open');
    } finally {
      await renameBack();
    }
  });
});

describe('resilience around errors that are not outages', () => {
  it('lets a programming error through without tripping the breaker', async () => {
    const store = await tempClientStore('sqlite');
    const inner = new SqlSource('client', store.url);
    const source = resilient(inner, { timeoutMs: 1000, retries: 3, breakerThreshold: 1, halfOpenAfterMs: 60_000 });
    try {
      await expect(source.fetchMany(Employee, [{ id: 'e-1' }])).rejects.toThrow(TypeError);
      expect(source.state()).toBe('closed');
    } finally {
      await inner.close();
      await store.drop();
    }
  });

  it('does not retry or count listing on a federated source', async () => {
    const inner = new GraphqlSource('hr', 'http://127.0.0.1:1/graphql');
    const source = resilient(inner, { timeoutMs: 1000, retries: 3, breakerThreshold: 1, halfOpenAfterMs: 60_000 });
    await expect(source.list(Employee, 5)).rejects.toThrow(/cannot list entities/);
    expect(source.state()).toBe('closed');
  });
});

describe('timeouts', () => {
  it('gives up on a MySQL server that accepts connections and never answers, then fails fast', async () => {
    const sockets: Socket[] = [];
    const silent = createTcpServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    const inner = new SqlSource('client', `mysql://root@127.0.0.1:${port}/nothing`);
    const queries: string[] = [];
    inner.onQuery((q) => queries.push(q));
    const source = resilient(inner, { timeoutMs: 300, retries: 1, breakerThreshold: 2, halfOpenAfterMs: 60_000 });
    try {
      const err = await failure(source.fetchMany(Employee, [{ employeeId: 'e-1' }]));
      expect(err).toBeInstanceOf(SourceUnavailableError);
      expect(err.message).toBe('client unavailable: timed out after 300 ms');
      expect(queries).toHaveLength(2);
      expect(sockets.length).toBeGreaterThanOrEqual(1);
      expect(source.state()).toBe('open');

      const connections = sockets.length;
      const fast = await failure(source.fetchMany(Employee, [{ employeeId: 'e-1' }]));
      expect(fast.message).toMatch(/circuit open.*timed out after 300 ms/);
      expect(queries).toHaveLength(2);
      expect(sockets.length).toBe(connections);
    } finally {
      for (const s of sockets) s.destroy();
      await inner.close();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('gives up on a GraphQL subgraph that does not answer in time', async () => {
    const held: ServerResponse[] = [];
    const slow = createHttpServer((_req: IncomingMessage, res: ServerResponse) => void held.push(res));
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/graphql`;
    try {
      // No timeout of its own: the policy's timeout is what ends the wait.
      const viaPolicy = resilient(new GraphqlSource('hr', url), {
        timeoutMs: 300,
        retries: 0,
        breakerThreshold: 5,
        halfOpenAfterMs: 60_000,
      });
      const err = await failure(viaPolicy.fetchMany(Employee, [{ employeeId: 'e-1' }]));
      expect(err).toBeInstanceOf(SourceUnavailableError);
      expect(err.message).toBe('hr unavailable: timed out after 300 ms');
      await waitFor(() => held.length === 1, 'the request to arrive');

      // Its own timeout aborts the HTTP request itself.
      const own = new GraphqlSource('hr', url, { timeoutMs: 200 });
      const ownErr = await failure(own.fetchMany(Employee, [{ employeeId: 'e-1' }]));
      expect(ownErr).toBeInstanceOf(SourceUnavailableError);
      expect(ownErr.message).toBe('hr subgraph unavailable: timed out');
      expect(held).toHaveLength(2);
    } finally {
      slow.closeAllConnections();
      await new Promise((resolve) => slow.close(resolve));
    }
  });
});

describe('resilienceFromEnv', () => {
  it('has defaults', () => {
    expect(resilienceFromEnv({})).toEqual({ timeoutMs: 2000, retries: 2, breakerThreshold: 5, halfOpenAfterMs: 10_000 });
  });

  it('reads the variables', () => {
    expect(
      resilienceFromEnv({
        REMOTE_TIMEOUT_MS: '750',
        REMOTE_RETRIES: '0',
        REMOTE_BREAKER_THRESHOLD: '9',
        REMOTE_BREAKER_HALF_OPEN_MS: '1500',
      }),
    ).toEqual({ timeoutMs: 750, retries: 0, breakerThreshold: 9, halfOpenAfterMs: 1500 });
  });

  it('rejects values that are not numbers', () => {
    expect(() => resilienceFromEnv({ REMOTE_TIMEOUT_MS: 'soon' })).toThrow(/REMOTE_TIMEOUT_MS .*"soon"/);
    expect(() => resilienceFromEnv({ REMOTE_RETRIES: '1.5' })).toThrow(/REMOTE_RETRIES must be an integer/);
    expect(() => resilienceFromEnv({ REMOTE_BREAKER_THRESHOLD: '0' })).toThrow(/REMOTE_BREAKER_THRESHOLD/);
    expect(() => resilienceFromEnv({ REMOTE_BREAKER_HALF_OPEN_MS: '-1' })).toThrow(/REMOTE_BREAKER_HALF_OPEN_MS/);
  });
});
