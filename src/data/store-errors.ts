import { outageReason } from '../util/outage.js';

/**
 * The operational store did not answer in time, refused, or is gone: the caller may retry later.
 * The message names the store and what happened in words; the driver's error is the `cause` (for
 * the log), never part of the message.
 */
export class StoreUnavailableError extends Error {
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`The operational store is unavailable: ${reason}`, options);
    this.name = 'StoreUnavailableError';
  }
}

/** An outage as StoreUnavailableError; anything else (a bug, a constraint) unchanged. */
export function asStoreError(err: unknown): unknown {
  if (err instanceof StoreUnavailableError) return err;
  const reason = outageReason(err);
  return reason ? new StoreUnavailableError(reason, { cause: err }) : err;
}
