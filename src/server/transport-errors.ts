import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ErrorRequestHandler, RequestHandler } from 'express';

/** A GraphQL-shaped JSON error body for failures before GraphQL runs (clients parse one format). */
const body = (message: string, code: string) => ({ errors: [{ message, extensions: { code } }] });

/** Every charset a Content-Type header names (a header may repeat the parameter), lower-cased without quotes. */
function charsetsOf(contentType: string | undefined): string[] {
  return [...(contentType ?? '').matchAll(/;\s*charset\s*=\s*"?([^";\s]*)/gi)].map((m) => m[1].toLowerCase());
}

/**
 * POST /graphql takes JSON only, and in UTF-8 only: anything else would reach Apollo as an empty
 * body and be answered as text. JSON between systems is UTF-8 (RFC 8259, and GraphQL over HTTP);
 * body-parser would also decode UTF-16 and UTF-32, whose byte-order marks the JSON depth bound
 * (jsonDepthGuard) does not read the way its decoder does, so one bound would see another text
 * than the parser. GET (queries, the Sandbox page) and OPTIONS pass through.
 */
export const requireJsonBody: RequestHandler = (req, res, next) => {
  if (req.method !== 'POST') return next();
  if (!req.is(['application/json', 'application/graphql-response+json', 'application/*+json'])) {
    res
      .status(400)
      .json(
        body(
          'POST /graphql takes a JSON body: send Content-Type: application/json with {"query": "...", "variables": {...}} (other content types are also refused as CSRF prevention: browsers send them without a preflight)',
          'BAD_USER_INPUT',
        ),
      );
    return;
  }
  if (charsetsOf(req.headers['content-type']).some((c) => c !== 'utf-8' && c !== 'utf8')) {
    res
      .status(415)
      .json(body('POST /graphql takes JSON in UTF-8 only: send Content-Type: application/json (or with charset=utf-8)', 'BAD_USER_INPUT'));
    return;
  }
  next();
};

/** What no route serves: a JSON 404 (express's own is an HTML page). */
export const noSuchPath: RequestHandler = (_req, res) => {
  res.status(404).json(body('Nothing is served here: this server answers /graphql, /health, /health/live and /metrics', 'NOT_FOUND'));
};

/** Why Node's HTTP parser refused a request, as the status line and message the caller gets. */
function parserRefusal(code: string | undefined): [number, string, string] {
  if (code === 'HPE_HEADER_OVERFLOW')
    return [431, 'Request Header Fields Too Large', "The request's headers are larger than this server reads"];
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return [408, 'Request Timeout', 'The request was not received in time'];
  return [400, 'Bad Request', 'The request is not well-formed HTTP'];
}

/**
 * The server's `clientError` listener: a request Node's HTTP parser refuses before express sees it
 * (headers past the size limit, a broken request line or framing, a request that came too slowly)
 * is answered in the JSON shape of every other refusal, where Node would send a bare status line.
 * As Node does, only a socket that has sent nothing yet is answered (on a kept-alive connection
 * the status line could be read as the answer to an earlier request); any other is closed.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable || (socket as Socket).bytesWritten > 0) {
    socket.destroy();
    return;
  }
  const [status, reason, message] = parserRefusal(err.code);
  const json = JSON.stringify(body(message, 'BAD_USER_INPUT'));
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
  );
}

/** Body-parser failures (bad JSON, too large, bad charset) as JSON instead of express's HTML page. */
export const jsonTransportErrors: ErrorRequestHandler = (
  err: { type?: string; status?: number; limit?: number; message?: string },
  _req,
  res,
  next,
) => {
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

/** A body in a charset other than UTF-8 reaching the depth guard (requireJsonBody refuses it first). */
class NotUtf8 extends Error {
  readonly status = 415;
  readonly type = 'charset.unsupported';
}

/**
 * body-parser's `verify` hook: refuses a JSON body nested deeper than `maxDepth` (`[` and `{`
 * outside strings), or holding more than `maxItems` items of arrays and members of objects (`,`
 * outside strings, plus one per container), in one pass over the raw bytes, before JSON.parse and
 * everything after it (variable coercion, the limits, access control) spend anything on it: what
 * they cost grows with both, and coercing a 4 MB list of inputs alone takes most of a second.
 * The bytes must be UTF-8, where every byte below 0x80 is the ASCII character, so they are read
 * directly; any other charset is refused rather than decoded here differently from the parser.
 */
export function jsonDepthGuard(maxDepth: number, maxItems = Infinity) {
  return (_req: unknown, _res: unknown, buf: Buffer, encoding: string): void => {
    if (encoding && !/^utf-?8$/i.test(encoding)) throw new NotUtf8('The request body must be UTF-8');
    let depth = 0;
    let items = 0;
    let inString = false;
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i];
      if (inString) {
        if (c === 0x5c)
          i++; // backslash: the next byte is escaped
        else if (c === 0x22) inString = false;
      } else if (c === 0x22) inString = true;
      else if (c === 0x5b || c === 0x7b) {
        if (++depth > maxDepth) throw new TooDeep(`The request body nests JSON deeper than ${maxDepth} levels, the most this server reads`);
        if (++items > maxItems) throw tooMany(maxItems);
      } else if (c === 0x5d || c === 0x7d) depth--;
      else if (c === 0x2c && ++items > maxItems) throw tooMany(maxItems);
    }
  };
}

const tooMany = (maxItems: number) =>
  new TooDeep(`The request body holds more than ${maxItems} items in its JSON arrays and objects, the most this server reads`);
