import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { originAllowed } from '../src/server/cors.js';
import { startTestServer, type TestServer } from './support/server.js';

/** What a browser sends before a cross-origin JSON POST. */
const preflight = (url: string, origin: string) =>
  fetch(url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
  });

const post = (url: string, origin: string, init: { contentType?: string; body?: string } = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { origin, 'content-type': init.contentType ?? 'application/json' },
    body: init.body ?? JSON.stringify({ query: '{ projects(first: 1) { name } }' }),
  });

describe('CORS with the default origins', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite', { env: { AUTH_MODE: 'none' } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it.each(['http://localhost:5173', 'http://localhost:3000', 'http://127.0.0.1:8080', 'https://studio.apollographql.com'])(
    'answers the preflight of %s',
    async (origin) => {
      const res = await preflight(s.url, origin);
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(origin);
      expect(res.headers.get('access-control-allow-methods')).toContain('POST');
      expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('content-type');
      expect(res.headers.get('vary')?.toLowerCase()).toContain('origin');
    },
  );

  it.each(['https://evil.example.com', 'http://localhost.evil.example.com', 'https://studio.apollographql.com.evil.example.com'])(
    'refuses the preflight of %s: no Access-Control-Allow-Origin, so the browser blocks the request',
    async (origin) => {
      const res = await preflight(s.url, origin);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(res.headers.get('access-control-allow-methods')).toBeNull();
    },
  );

  it('lets an allowed origin read the answer of its POST', async () => {
    const res = await post(s.url, 'http://localhost:5173');
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(((await res.json()) as { data: unknown }).data).toEqual({ projects: [] });
  });

  it('keeps CSRF prevention on: a simple request (no preflight) is refused even from an allowed origin', async () => {
    const res = await post(s.url, 'http://localhost:5173', {
      contentType: 'text/plain',
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/CSRF|preflight/i);
    const get = await fetch(`${s.url}?query=${encodeURIComponent('{ __typename }')}`, { headers: { origin: 'http://localhost:5173' } });
    expect(get.status).toBe(400);
  });
});

describe('CORS_ORIGINS', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite', { env: { AUTH_MODE: 'none', CORS_ORIGINS: 'https://app.example.com, http://localhost:4200' } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('allows exactly the listed origins', async () => {
    expect((await preflight(s.url, 'https://app.example.com')).headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect((await preflight(s.url, 'http://localhost:4200')).headers.get('access-control-allow-origin')).toBe('http://localhost:4200');
    expect((await preflight(s.url, 'http://localhost:5173')).headers.get('access-control-allow-origin')).toBeNull();
    expect((await preflight(s.url, 'https://studio.apollographql.com')).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses to start on a malformed origin', () => {
    for (const bad of ['app.example.com', 'https://app.example.com/path', 'ftp://x', 'https://a b']) {
      expect(() => loadConfig({ CORS_ORIGINS: bad })).toThrow(ConfigError);
    }
    expect(loadConfig({ CORS_ORIGINS: 'none' }).corsOrigins).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: '*' }).corsOrigins).toEqual(['*']);
  });

  it('matches a port wildcard on the port only', () => {
    const allowed = ['http://localhost:*'];
    expect(originAllowed(allowed, 'http://localhost:3000')).toBe(true);
    expect(originAllowed(allowed, 'http://localhost')).toBe(true);
    expect(originAllowed(allowed, 'https://localhost:3000')).toBe(false);
    expect(originAllowed(allowed, 'http://localhost:3000.evil.example.com')).toBe(false);
    expect(originAllowed(allowed, 'http://localhostx:3000')).toBe(false);
  });
});
