import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What one GraphQL request carries through every await: its deadline (store statements never
 * wait past it), and what the access log and metrics report when it ends.
 */
export interface RequestScope {
  /** Epoch milliseconds after which store statements fail with STORE_UNAVAILABLE. */
  readonly deadline: number;
  operation: string;
  statements: number;
  /** `ok`, or the first error code of the response. */
  outcome: string;
}

const storage = new AsyncLocalStorage<RequestScope>();

export function runInScope<T>(scope: RequestScope, fn: () => T): T {
  return storage.run(scope, fn);
}

export function currentScope(): RequestScope | undefined {
  return storage.getStore();
}

/**
 * Runs `fn` outside any request's scope: work with bounds of its own (a maintenance run asked for
 * through the API, which may wait for the lease and commit batch after batch) is not cut short by
 * the deadline of the request that started it.
 */
export function outsideRequest<T>(fn: () => T): T {
  return storage.exit(fn);
}
