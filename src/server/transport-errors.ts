import type { ErrorRequestHandler, RequestHandler } from 'express';

/** A GraphQL-shaped JSON error body for failures before GraphQL runs (clients parse one format). */
const body = (message: string, code: string) => ({ errors: [{ message, extensions: { code } }] });

/**
 * POST /graphql takes JSON only: anything else would reach Apollo as an empty body and be answered
 * as text. GET (queries, the Sandbox page) and OPTIONS pass through.
 */
export const requireJsonBody: RequestHandler = (req, res, next) => {
  if (req.method !== 'POST' || req.is(['application/json', 'application/graphql-response+json', 'application/*+json'])) return next();
  res
    .status(400)
    .json(body('POST /graphql takes a JSON body: send Content-Type: application/json with {"query": "...", "variables": {...}} (other content types are also refused as CSRF prevention: browsers send them without a preflight)', 'BAD_USER_INPUT'));
};

/** Body-parser failures (bad JSON, too large, bad charset) as JSON instead of express's HTML page. */
export const jsonTransportErrors: ErrorRequestHandler = (err: { type?: string; status?: number; limit?: number; message?: string }, _req, res, next) => {
  if (res.headersSent) return next(err);
  const status = typeof err.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500;
  const message =
    err.type === 'entity.parse.failed'
      ? 'The request body is not valid JSON'
      : err.type === 'entity.too.deep'
        ? String(err.message)
        : err.type === 'entity.too.large'
          ? `The request body is larger than the limit of ${err.limit ?? 'the server'} bytes`
          : err.type === 'encoding.unsupported' || err.type === 'charset.unsupported'
            ? 'The request body has an unsupported encoding or charset'
            : status < 500
              ? 'The request could not be read'
              : 'Internal server error';
  res.status(status).json(body(message, status < 500 ? 'BAD_USER_INPUT' : 'INTERNAL_SERVER_ERROR'));
};

/** A body refused by `jsonDepthGuard`, seen by `jsonTransportErrors` as a client error. */
class TooDeep extends Error {
  readonly status = 400;
  readonly type = 'entity.too.deep';
}

/**
 * body-parser's `verify` hook: refuses a JSON body nested deeper than `maxDepth` (`[` and `{`
 * outside strings) in one pass over the raw bytes, before JSON.parse and everything after it
 * (variable coercion, the limits) spend anything on it. In UTF-8 every byte below 0x80 is the
 * ASCII character, so the bytes can be read directly; other charsets are decoded first.
 */
export function jsonDepthGuard(maxDepth: number) {
  return (_req: unknown, _res: unknown, buf: Buffer, encoding: string): void => {
    const utf8 = !encoding || /^utf-?8$/i.test(encoding);
    const text = utf8 ? buf : Buffer.from(new TextDecoder(encoding).decode(buf), 'utf8');
    let depth = 0;
    let inString = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (inString) {
        if (c === 0x5c) i++; // backslash: the next byte is escaped
        else if (c === 0x22) inString = false;
      } else if (c === 0x22) inString = true;
      else if (c === 0x5b || c === 0x7b) {
        if (++depth > maxDepth) throw new TooDeep(`The request body nests JSON deeper than ${maxDepth} levels, the most this server reads`);
      } else if (c === 0x5d || c === 0x7d) depth--;
    }
  };
}
