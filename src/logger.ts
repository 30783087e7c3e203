import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout (pipe through pino-pretty to read them by eye). */
export function createLogger(level = process.env.LOG_LEVEL || 'info'): Logger {
  return pino({ level, base: { service: 'integrity-subgraph' } });
}
