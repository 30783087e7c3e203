import { createHash, timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import type { RequestHandler } from 'express';
import type { Logger } from '../logger.js';
import { register } from '../observability/metrics.js';

/** A GraphQL-shaped JSON error body, as the other answers outside GraphQL (transport-errors.ts). */
const body = (message: string, code: string) => ({ errors: [{ message, extensions: { code } }] });

/** Digests of equal length, so comparing them takes the same time whatever the caller sent. */
const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * GET /metrics: prom-client's registry as Prometheus text. With METRICS_TOKEN set, only a request
 * with `Authorization: Bearer <METRICS_TOKEN>` is answered; any other gets 401 JSON. A failure to
 * render is a 500 in JSON, with the cause in the log.
 */
export function metricsEndpoint(token: string | undefined, log: Logger): RequestHandler {
  const expected = token === undefined ? undefined : digest(`Bearer ${token}`);
  return async (req, res) => {
    if (expected && !timingSafeEqual(digest(req.headers.authorization ?? ''), expected)) {
      res
        .status(401)
        .set('WWW-Authenticate', 'Bearer realm="metrics"')
        .json(body('GET /metrics needs the metrics token (Authorization: Bearer <METRICS_TOKEN>)', 'UNAUTHENTICATED'));
      return;
    }
    try {
      const text = await register.metrics();
      res.type(register.contentType).send(text);
    } catch (err) {
      log.error({ err }, 'metrics could not be rendered');
      res.status(500).json(body('Internal server error', 'INTERNAL_SERVER_ERROR'));
    }
  };
}

/** 404 in JSON: /metrics served on METRICS_PORT instead, or anything else on that port. */
export const notServedHere: RequestHandler = (_req, res) => {
  res.status(404).json(body('Not found on this port', 'NOT_FOUND'));
};

/** A port this process cannot listen on (taken, or not allowed): start-up stops with the setting that moves it. */
export class PortError extends Error {
  constructor(setting: string, port: number, host: string, code: string | undefined) {
    super(
      code === 'EADDRINUSE'
        ? `${setting}=${port} is taken on ${host} (another process listens there): set ${setting} to a free port`
        : `cannot listen on ${host}:${port} (${code ?? 'refused'}): set ${setting} (or HOST) to a port and address this process may use`,
    );
    this.name = 'PortError';
  }
}

/** Listens on `port`; `setting` names the variable that chose it, for the error a taken port gives. */
export function listen(server: Server, port: number, host: string, setting = 'PORT'): Promise<void> {
  return new Promise<void>((res, rej) => {
    server.once('error', (e: NodeJS.ErrnoException) => rej(new PortError(setting, port, host, e.code)));
    server.listen(port, host, () => res());
  });
}
