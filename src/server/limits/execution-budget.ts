import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import {
  defaultFieldResolver,
  getNamedType,
  GraphQLError,
  isCompositeType,
  isObjectType,
  type GraphQLFieldResolver,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { currentScope } from '../../observability/request-scope.js';

/** Why a request's execution was stopped, as the caller will read it. */
interface Stop {
  message: string;
  code: 'BAD_USER_INPUT' | 'STORE_UNAVAILABLE';
}

/** One request's execution: objects produced so far, against its budget and deadline. */
interface Budget {
  objects: number;
  readonly maxObjects: number;
  /** Epoch ms: the request's deadline, the same one its store statements keep (REQUEST_TIMEOUT_MS). */
  readonly deadline: number;
  stopped?: Stop;
}

// Keyed by the request's GraphQL context: one lookup per object field, nothing added to the context type.
const budgets = new WeakMap<object, Budget>();

const overBudget = (max: number): Stop => ({
  message: `The operation produced more than ${max} objects while it ran, the most one request may: ask for fewer items per list (first) or fewer nested lists`,
  code: 'BAD_USER_INPUT',
});
// The code a store wait past the request's deadline gets (src/data/db.ts): the caller may retry.
const pastDeadline: Stop = {
  message: 'The request ran out of time (REQUEST_TIMEOUT_MS) before its answer was complete; try again or ask for less',
  code: 'STORE_UNAVAILABLE',
};

const asError = (stop: Stop) => new GraphQLError(stop.message, { extensions: { code: stop.code } });

function stop(budget: Budget, why: Stop): never {
  budget.stopped ??= why;
  throw asError(budget.stopped);
}

function produced(budget: Budget, value: unknown): unknown {
  budget.objects += Array.isArray(value) ? value.length : value == null ? 0 : 1;
  if (budget.objects > budget.maxObjects) stop(budget, overBudget(budget.maxObjects));
  return value;
}

const isPromiseLike = (v: unknown): v is PromiseLike<unknown> => typeof (v as PromiseLike<unknown> | null)?.then === 'function';

/**
 * Wraps the resolver of every field that returns objects (or lists of them) so that execution
 * counts what it produces and stops at the request's object budget and deadline: the estimate
 * bounds what an operation asks for, this bounds what it does, whatever the estimate missed.
 * Scalar fields are left alone (the hot path; their count is bounded by their objects'). Both
 * graphql-js and graphql-jit call `field.resolve`, so this must run before anything executes or
 * compiles. Once stopped, every later object field throws at once, so no new store work starts.
 */
export function boundExecution(schema: GraphQLSchema): void {
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__') || !isObjectType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      if (!isCompositeType(getNamedType(field.type))) continue;
      const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve ?? defaultFieldResolver;
      field.resolve = (source, args, context, info) => {
        const budget = typeof context === 'object' && context !== null ? budgets.get(context) : undefined;
        if (!budget) return resolve(source, args, context, info);
        if (budget.stopped) throw asError(budget.stopped);
        if (Date.now() > budget.deadline) stop(budget, pastDeadline);
        const value = resolve(source, args, context, info);
        return isPromiseLike(value) ? value.then((v) => produced(budget, v)) : produced(budget, value);
      };
    }
  }
}

/**
 * Forgets the objects a discarded execution produced (the compiled path runs a query again on
 * graphql-js when its answer has errors): the budget bounds one answer's work, not the sum of two
 * runs. A stop stays: the second run must not get further than the first.
 */
export function recount(context: object): void {
  const budget = budgets.get(context);
  if (budget && !budget.stopped) budget.objects = 0;
}

/**
 * How long after the deadline the backstop answers: a store wait has a timer of its own at the same
 * deadline and answers with its own words; the backstop is for waits that have none.
 */
const BACKSTOP_GRACE_MS = 250;

/**
 * Runs the executor against the request's deadline: work that waits on something without a
 * bound of its own still answers at REQUEST_TIMEOUT_MS, and the abandoned execution stops at its
 * next object field (its outcome is observed, so nothing is left unhandled).
 */
export function withDeadline<G extends GatewayInterface & { readonly executor: GatewayExecutor }>(gateway: G): G {
  const executor: GatewayExecutor = (rc) => {
    const budget = budgets.get(rc.context);
    const running = gateway.executor(rc);
    if (!budget) return running;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<Awaited<ReturnType<GatewayExecutor>>>((resolve) => {
      timer = setTimeout(
        () => {
          budget.stopped ??= pastDeadline;
          resolve({ errors: [asError(budget.stopped)] });
        },
        Math.max(0, budget.deadline - Date.now()) + BACKSTOP_GRACE_MS,
      );
    });
    running.catch(() => undefined).finally(() => clearTimeout(timer));
    return Promise.race([running, timedOut]);
  };
  return { ...gateway, executor, load: async (options) => ({ ...(await gateway.load(options)), executor }) };
}

/**
 * Opens each request's budget when execution starts and, when execution was stopped, answers the
 * stop alone: a query's half-built data is not sent. A mutation keeps what it did (its writes are
 * committed; hiding them would mislead) with the stop among its errors.
 */
export function executionBudget(options: { maxObjects: number; requestTimeoutMs: number }): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      return {
        async executionDidStart({ contextValue }) {
          const deadline = currentScope()?.deadline ?? Date.now() + options.requestTimeoutMs;
          budgets.set(contextValue, { objects: 0, maxObjects: options.maxObjects, deadline });
        },
        async willSendResponse({ contextValue, response, operation }) {
          const budget = budgets.get(contextValue);
          if (!budget || response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          // A store wait cut by the same deadline stopped the execution just the same.
          if (!budget.stopped && Date.now() >= budget.deadline && result.errors?.some((e) => e.extensions?.code === 'STORE_UNAVAILABLE')) {
            budget.stopped = pastDeadline;
          }
          if (!budget.stopped) return;
          const error: GraphQLFormattedError = { message: budget.stopped.message, extensions: { code: budget.stopped.code } };
          if (operation?.operation === 'mutation') {
            // An error that already says the same (the store's own timeout at the same deadline) is the answer; no second one.
            if (result.errors?.some((e) => e.extensions?.code === error.extensions?.code)) return;
            response.body.singleResult = { ...result, errors: [error, ...(result.errors ?? [])] };
            return;
          }
          response.body.singleResult = { errors: [error] };
          response.http.status = budget.stopped.code === 'BAD_USER_INPUT' ? 400 : 503;
        },
      };
    },
  };
}
