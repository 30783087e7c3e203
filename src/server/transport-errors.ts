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
export const jsonTransportErrors: ErrorRequestHandler = (err: { type?: string; status?: number; limit?: number }, _req, res, next) => {
  if (res.headersSent) return next(err);
  const status = typeof err.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500;
  const message =
    err.type === 'entity.parse.failed'
      ? 'The request body is not valid JSON'
      : err.type === 'entity.too.large'
        ? `The request body is larger than the limit of ${err.limit ?? 'the server'} bytes`
        : err.type === 'encoding.unsupported' || err.type === 'charset.unsupported'
          ? 'The request body has an unsupported encoding or charset'
          : status < 500
            ? 'The request could not be read'
            : 'Internal server error';
  res.status(status).json(body(message, status < 500 ? 'BAD_USER_INPUT' : 'INTERNAL_SERVER_ERROR'));
};
