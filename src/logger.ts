import { pino, type Logger } from 'pino';

export type { Logger };

/** Keys that may hold a secret anywhere in a log record: their values are never written. */
const SECRET_PATHS = ['password', 'authorization', 'cookie', 'secret', 'headers.authorization', 'req.headers.authorization'].flatMap((p) =>
  p.includes('.') ? [p] : [p, `*.${p}`],
);

/** Structured JSON logs on stdout (pipe through pino-pretty to read them by eye). */
export function createLogger(level = process.env.LOG_LEVEL || 'info'): Logger {
  return pino({ level, base: { service: 'integrity-subgraph' }, redact: { paths: SECRET_PATHS, censor: '[redacted]' } });
}
