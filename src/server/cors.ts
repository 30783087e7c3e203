import cors from 'cors';
import type { RequestHandler } from 'express';

/**
 * Origins a browser may call /graphql from (CORS_ORIGINS): a local frontend's dev server on any
 * port, and Apollo's hosted Sandbox and Explorer. CSRF prevention stays on regardless: CORS only
 * lets those origins read the answers of requests a browser would preflight anyway.
 */
export const DEFAULT_CORS_ORIGINS: readonly string[] = [
  'http://localhost:*',
  'http://127.0.0.1:*',
  'http://[::1]:*',
  'https://studio.apollographql.com',
  'https://sandbox.embed.apollographql.com',
];

/** `*`, an origin (`https://app.example.com`), or an origin with any port (`http://localhost:*`). */
export const CORS_ORIGIN_PATTERN = /^(\*|https?:\/\/(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(:(\d{1,5}|\*))?)$/;

export function originAllowed(allowed: readonly string[], origin: string): boolean {
  return allowed.some((a) => {
    if (a === '*' || a === origin) return true;
    if (!a.endsWith(':*')) return false;
    const base = a.slice(0, -2);
    return origin === base || (origin.startsWith(`${base}:`) && /^\d{1,5}$/.test(origin.slice(base.length + 1)));
  });
}

/** The `cors` middleware for these origins; refused origins get no Access-Control-Allow-* headers. */
export function corsFor(allowed: readonly string[]): RequestHandler {
  return cors({
    origin: (origin, done) => done(null, origin === undefined || originAllowed(allowed, origin)),
    methods: ['GET', 'POST', 'OPTIONS'],
    maxAge: 600,
  });
}
