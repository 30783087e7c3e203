import { Counter } from 'prom-client';
import type { Logger } from '../logger.js';

export const unhandledRejections = new Counter({
  name: 'integrity_unhandled_rejections_total',
  help: 'Promise rejections nothing handled (each one is a bug: a request must fail itself, not float away)',
});

/** The error's type and stack frames: its message may echo what a caller sent, so it stays out of the log. */
function withoutMessage(reason: unknown): { type: string; frames?: string } {
  if (!(reason instanceof Error)) return { type: typeof reason };
  const frames = reason.stack
    ?.split('\n')
    .filter((line) => /^\s+at /.test(line))
    .join('\n');
  return { type: reason.name, frames };
}

/**
 * The last resort: a rejection nothing handled is logged at error level and counted, and the
 * process keeps serving (Node's default would end it, and every other caller's request with it).
 * Causes are fixed where they arise; this only keeps one missed case from becoming an outage.
 */
export function surviveUnhandledRejections(log: Logger): () => void {
  const onRejection = (reason: unknown) => {
    unhandledRejections.inc();
    log.error({ rejection: withoutMessage(reason) }, 'unhandled promise rejection (a bug); the process keeps serving');
  };
  process.on('unhandledRejection', onRejection);
  return () => process.off('unhandledRejection', onRejection);
}
