import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from './fixtures/subgraph-process.js';
import { OPERATIONAL_KINDS, tempMysql, type TempStore } from './support/stores.js';
import { startTestServer, type TestServer } from './support/server.js';
import { proxied, type TcpProxy } from './support/tcp-proxy.js';

describe.each(OPERATIONAL_KINDS)('HTTP endpoints on %s', (store) => {
  let s: TestServer;
  let base: URL;
  beforeAll(async () => {
    s = await startTestServer(store);
    base = new URL(s.url);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('GET /health answers 200 {"status":"ok"} while the store answers', async () => {
    const res = await fetch(new URL('/health', base));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('GET /graphql for a browser is the embedded Apollo Sandbox', async () => {
    const res = await fetch(s.url, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    expect(html.trimStart()).toMatch(/^<!DOCTYPE html>/i);
    expect(html).toContain('embeddable-sandbox');
    expect(html).toContain('embeddableSandbox');
  });

  it('refuses a GET without a preflight header as a possible CSRF, and serves it with one', async () => {
    const url = new URL('/graphql?query=%7B__typename%7D', base);
    const refused = await fetch(url, { headers: { accept: 'application/json' } });
    expect(refused.status).toBe(400);
    const body = (await refused.json()) as { data?: unknown; errors: { message: string }[] };
    expect(body.data).toBeUndefined();
    expect(body.errors[0].message).toContain('Cross-Site Request Forgery');

    const allowed = await fetch(url, { headers: { accept: 'application/json', 'apollo-require-preflight': 'true' } });
    expect(allowed.status).toBe(200);
    expect(await allowed.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('refuses a simple (text/plain) POST as a possible CSRF; JSON POSTs work', async () => {
    const refused = await fetch(s.url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(refused.status).toBe(400);
    expect(await s.ok('{ __typename }')).toEqual({ __typename: 'Query' });
  });
});

describe('GET /health when the operational store goes away (MariaDB behind a proxy)', () => {
  let db: TempStore;
  let proxy: TcpProxy;
  let s: TestServer;
  beforeAll(async () => {
    db = await tempMysql('health');
    let viaProxy: string;
    ({ proxy, url: viaProxy } = await proxied(db.url));
    s = await startTestServer('sqlite', { env: { DATABASE_URL: viaProxy } });
  });
  afterAll(async () => {
    await proxy?.open().catch(() => undefined); // let the server close its pool cleanly
    try {
      await s?.close();
    } finally {
      await proxy?.cut();
      await db?.drop();
    }
  });

  const health = async () => {
    const res = await fetch(new URL('/health', s.url), { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: (await res.json()) as { status: string } };
  };

  it('answers 200, then 503 once the store is cut off, then 200 again once it is back', async () => {
    expect(await health()).toEqual({ status: 200, body: { status: 'ok' } });
    // The server really uses the store behind the proxy.
    expect(await s.ok(`mutation { createProject(input: { name: "via-proxy" }) { name } }`)).toEqual({
      createProject: { name: 'via-proxy' },
    });

    await proxy.cut();
    const down = await pollUntil('/health to answer 503', async () => {
      const h = await health();
      return h.status === 503 ? h : undefined;
    });
    expect(down.body.status).not.toBe('ok');

    await proxy.open();
    await pollUntil('/health to answer 200 again', async () => ((await health()).status === 200 ? true : undefined));
    expect(await health()).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await s.ok(`{ project(name: "via-proxy") { name } }`)).toEqual({ project: { name: 'via-proxy' } });
  });
});
