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
 * Runs `fn` outside the request's deadline: work with bounds of its own (putting a connection back
 * in order after a transaction, releasing the maintenance lease past the deadline) is not cut
 * short by the deadline of the request that started it. Its statements still count towards the
 * request (the request log's and the metrics' `statements`).
 */
export function outsideRequest<T>(fn: () => T): T {
  const parent = storage.getStore();
  if (!parent) return fn();
  const free: RequestScope = {
    deadline: Number.POSITIVE_INFINITY,
    get operation() {
      return parent.operation;
    },
    set operation(name: string) {
      parent.operation = name;
    },
    get statements() {
      return parent.statements;
    },
    set statements(n: number) {
      parent.statements = n;
    },
    get outcome() {
      return parent.outcome;
    },
    set outcome(o: string) {
      parent.outcome = o;
    },
  };
  return storage.run(free, fn);
}
