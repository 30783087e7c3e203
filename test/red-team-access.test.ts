import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, startTestServer, type GraphQLResponse, type TestServer } from './support/server.js';
import { as, jwtEnv } from './support/tokens.js';

/**
 * Issue 17, red team of the access-control and availability classes: shapes found by attacking a
 * running server that the other suites did not write down. Each answers JSON with a contract code
 * (never HTML, an empty body or INTERNAL_SERVER_ERROR for the caller's own mistake), is refused
 * before it costs anything, and leaves the process serving.
 */

const CONTRACT_CODES = new Set([
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'VERSION_CONFLICT',
  'REFERENCES_MARKED_RESOURCE',
  'RESOURCE_MARKED_FOR_DELETION',
  'REMOTE_ENTITY_NOT_FOUND',
  'REMOTE_SOURCE_UNAVAILABLE',
  'MAINTENANCE_BUSY',
  'STORE_UNAVAILABLE',
]);

interface Answer {
  status: number;
  contentType: string | null;
  body: GraphQLResponse;
}

async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  let body: GraphQLResponse;
  try {
    body = JSON.parse(text) as GraphQLResponse;
  } catch {
    throw new Error(`not JSON (${res.status}): ${text.slice(0, 200)}`);
  }
  return { status: res.status, contentType: res.headers.get('content-type'), body };
}

/** Every error carries a contract code; nothing names a file, a stack frame or a driver. */
function contractErrors(what: string, a: Answer, code = 'BAD_USER_INPUT'): void {
  expect(a.contentType, what).toMatch(/application\/json/);
  expect(a.body.errors?.length, `${what}: ${JSON.stringify(a.body).slice(0, 300)}`).toBeGreaterThan(0);
  for (const e of a.body.errors!) expect(CONTRACT_CODES, `${what}: ${e.extensions?.code} ${e.message}`).toContain(e.extensions?.code);
  expect(codes(a.body), what).toContain(code);
  expect(JSON.stringify(a.body), what).not.toMatch(/\.ts:\d|\.js:\d|at \w+ \(|<html/i);
}

/** One raw HTTP/1.1 exchange (what fetch would refuse to send), answered and closed by the server. */
function rawHttp(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(request));
    let out = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (out += d));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
  });
}

describe.each([
  ['jwt', jwtEnv()],
  ['none', { AUTH_MODE: 'none' }],
] as const)('transport shapes answered with contract codes (SQLite, AUTH_MODE=%s)', (mode, env) => {
  let s: TestServer;
  let reader: Record<string, string>;
  const errorLogs: string[] = [];
  beforeAll(async () => {
    const { createLogger } = await import('../src/logger.js');
    const log = createLogger('silent');
    // The errors the server logs at error level: a caller's mistake must not write one (with a stack) per request.
    const original = log.error.bind(log);
    log.error = ((...args: Parameters<typeof log.error>) => {
      errorLogs.push(JSON.stringify(args).slice(0, 300));
      return original(...args);
    }) as typeof log.error;
    s = await startTestServer('sqlite', { seedDemo: true, env, log });
    reader = await as('reader', ['integrity:read']);
  }, 120_000);
  afterAll(() => s?.close());

  const post = (body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(s.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...reader, ...headers },
      body: typeof body === 'string' ? body : new Blob([new Uint8Array(body)]),
    });

  it('a body in UTF-16 (or any charset but UTF-8) is refused before it is parsed: the depth bound cannot be read past', async () => {
    const deep = `{"query":"{ __typename }","variables":{"v":${'['.repeat(100)}${']'.repeat(100)}}}`;
    const shallow = '{"query":"{ __typename }"}';
    const utf16be = (text: string) => {
      const le = Buffer.from(text, 'utf16le');
      for (let i = 0; i < le.length; i += 2) [le[i], le[i + 1]] = [le[i + 1], le[i]];
      return Buffer.concat([Buffer.from([0xfe, 0xff]), le]);
    };
    for (const [what, body, charset] of [
      ['deep, UTF-16 big-endian with its byte-order mark', utf16be(deep), 'utf-16'],
      ['shallow, UTF-16 big-endian with its byte-order mark', utf16be(shallow), 'utf-16'],
      ['shallow, UTF-16LE', Buffer.from(shallow, 'utf16le'), 'utf-16le'],
      ['shallow, UTF-32', Buffer.from(shallow), 'utf-32'],
      ['shallow, UTF-7', Buffer.from(shallow), 'utf-7'],
      ['deep, UTF-16 after a first charset=utf-8 (the parser reads the last)', utf16be(deep), 'utf-8; charset=utf-16'],
    ] as const) {
      const a = await answer(await post(body, { 'content-type': `application/json; charset=${charset}` }));
      expect(a.status, what).toBe(415);
      contractErrors(what, a);
      expect(a.body.data, what).toBeUndefined();
    }
    // UTF-8, said or not, is read.
    for (const ct of [
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset="UTF-8"',
      'application/json;charset=UTF-8',
    ]) {
      const a = await answer(await post(shallow, { 'content-type': ct }));
      expect(a.body, ct).toEqual({ data: { __typename: 'Query' } });
    }
  });

  it('a wide body (a 4 MB list of inputs) is refused before it is parsed, with or without a token: coercing it would hold the event loop', async () => {
    const events = Array.from({ length: 90_000 }, () => ({ entityType: 'E', key: 1, op: 'UPSERT' }));
    const apply = 'mutation ($e: [RemoteChangeInput!]!) { applyRemoteChanges(events: $e) { ignored } }';
    const representations = 'query ($r: [_Any!]!) { _entities(representations: $r) { __typename } }';
    for (const [what, body] of [
      ['90,000 events', JSON.stringify({ query: apply, variables: { e: events } })],
      ['a million scalar representations', JSON.stringify({ query: representations, variables: { r: Array(1_000_000).fill(1) } })],
      ['a variable nobody uses', JSON.stringify({ query: '{ __typename }', variables: { unused: Array(200_000).fill(0) } })],
    ] as const) {
      for (const headers of [{ authorization: '' }, reader]) {
        const a = await answer(await post(body, headers));
        expect(a.status, what).toBe(400);
        contractErrors(what, a);
        expect(a.body.errors![0].message, what).toMatch(/more than 100000 items/);
      }
    }
    // Under the bound, a call as large as applyRemoteChanges takes is read.
    const feed = await as('feed', ['integrity:feed']);
    const thousand = Array.from({ length: 1000 }, (_, i) => ({
      entityType: 'Employee',
      key: { employeeId: `zz-${i}` },
      op: 'UPSERT',
      entity: { employeeId: `zz-${i}`, name: 'n' },
    }));
    const ok = await answer(await post(JSON.stringify({ query: apply, variables: { e: thousand } }), feed));
    expect(ok.body.errors, JSON.stringify(ok.body.errors)).toBeUndefined();
  });

  it("persisted queries with a wrong hash or version are the caller's mistake (BAD_USER_INPUT), not an internal error", async () => {
    const before = errorLogs.length;
    for (const [what, extensions] of [
      ['a hash that does not match the query', { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } }],
      ['a hash that is not a string', { persistedQuery: { version: 1, sha256Hash: { x: 1 } } }],
      ['an unsupported version', { persistedQuery: { version: 2, sha256Hash: 'a'.repeat(64) } }],
    ] as const) {
      for (const headers of [reader, {}]) {
        const a = await answer(await post(JSON.stringify({ query: '{ __typename }', extensions }), headers));
        expect(a.status, what).toBe(400);
        contractErrors(what, a);
      }
    }
    expect(errorLogs.slice(before)).toEqual([]);
  });

  it("an operation type the schema does not have (subscription) is refused as the caller's mistake", async () => {
    const before = errorLogs.length;
    for (const query of ['subscription { projects { name } }', 'subscription S { __typename }']) {
      const a = await answer(await post(JSON.stringify({ query })));
      contractErrors(query, a);
      expect(a.body.data ?? null, query).toBeNull();
    }
    expect(errorLogs.slice(before)).toEqual([]);
  });

  it('paths and methods nothing serves answer a JSON 404 (NOT_FOUND), not an HTML page', async () => {
    const base = new URL('/', s.url);
    for (const [method, path] of [
      ['GET', '/nope'],
      ['POST', '/metrics'],
      ['POST', '/health'],
      ['PUT', '/health/live'],
      ['GET', '/%E0%A4%A'],
    ] as const) {
      const a = await answer(
        await fetch(new URL(path, base), {
          method,
          headers: { 'content-type': 'application/json' },
          body: method === 'GET' ? undefined : '{}',
        }),
      );
      expect(a.status, `${method} ${path}`).toBe(404);
      contractErrors(`${method} ${path}`, a, 'NOT_FOUND');
    }
  });

  it('requests Node refuses before express (oversized headers, a broken request line) get a JSON body with a contract code', async () => {
    for (const [what, request, status] of [
      ['a 20 KB Authorization header', `GET /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'a'.repeat(20_000)}\r\n\r\n`, 431],
      ['a request line that is not HTTP', 'GARBAGE\r\n\r\n', 400],
      ['two conflicting body lengths', 'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n', 400],
    ] as const) {
      const out = await rawHttp(s.url, request);
      expect(out, what).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(out, what).toMatch(/content-type: application\/json/i);
      const body = JSON.parse(out.slice(out.indexOf('\r\n\r\n') + 4)) as GraphQLResponse;
      expect(codes(body), what).toEqual(['BAD_USER_INPUT']);
    }
    expect((await fetch(new URL('/health/live', s.url))).status).toBe(200);
  });

  it('without a token, the SDL is answered once per request under jwt (aliases of _service or sdl are refused); open mode counts them as limits do', async () => {
    if (mode === 'none') {
      // Everyone may do everything in open mode: aliases of the SDL are answered, within the alias limit.
      const open = await answer(
        await post(JSON.stringify({ query: '{ a: _service { sdl } b: _service { sdl } }' }), { authorization: '' }),
      );
      expect(open.body.errors).toBeUndefined();
      expect(open.body.data?.a.sdl).toBe(open.body.data?.b.sdl);
      return;
    }
    const one = await answer(
      await post(JSON.stringify({ query: 'query SubgraphIntrospectQuery { _service { sdl } }' }), { authorization: '' }),
    );
    expect(one.body.data?._service.sdl).toMatch(/type Query/);
    expect(
      (await answer(await post(JSON.stringify({ query: '{ __typename _service { __typename sdl } }' }), { authorization: '' }))).body
        .errors,
    ).toBeUndefined();
    for (const query of [
      `{ ${Array.from({ length: 100 }, (_, i) => `a${i}: _service { sdl }`).join(' ')} }`,
      '{ _service { a: sdl b: sdl } }',
      '{ _service { sdl ... on _Service { again: sdl } } }',
    ]) {
      const a = await answer(await post(JSON.stringify({ query }), { authorization: '' }));
      contractErrors(query, a, 'UNAUTHENTICATED');
      expect(a.body.data ?? null, query).toBeNull();
    }
    // With a token, aliases are only counted by the limits.
    const twice = await answer(await post(JSON.stringify({ query: '{ a: _service { sdl } b: _service { sdl } }' })));
    expect(twice.body.errors).toBeUndefined();
  });

  it('kept serving, and logged no error for any of it', async () => {
    expect((await fetch(new URL('/health/live', s.url))).status).toBe(200);
    expect(errorLogs).toEqual([]);
  });
});
