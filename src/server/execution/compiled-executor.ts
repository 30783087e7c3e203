import { createHash } from 'node:crypto';
import type { GatewayExecutor, GatewayGraphQLRequestContext, GatewayInterface } from '@apollo/server-gateway-interface';
import { execute, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { compilable } from './compilable.js';
import { settledErrors } from './error-order.js';

/** Compiled operations kept (by operation name and query hash); the oldest goes first. */
export const MAX_COMPILED = 500;
/**
 * Longest operation text compiled. Compiled code grows with the document (a generated 100 KB
 * document compiles to megabytes), so 500 kept plans of large documents would hold gigabytes; the
 * operations a router repeats are far shorter. Longer ones run on graphql-js.
 */
export const MAX_COMPILED_SOURCE = 8_192;
/** Operations counted towards compilation; the oldest count goes first. */
const MAX_COUNTED = 5_000;

/**
 * The key an operation's count and plan are kept under. A name is the caller's text and may be a
 * megabyte long: thousands of kept keys must not hold thousands of such names, so a long one is
 * kept as its hash.
 */
function planKey(operationName: string, queryHash: string): string {
  const name = operationName.length > 64 ? createHash('sha256').update(operationName).digest('base64') : operationName;
  return `${name}|${queryHash}`;
}

/** What an operation runs on once counted: its compiled function, or graphql-js for good. */
type Plan = CompiledQuery<Record<string, unknown>, Record<string, unknown>> | 'interpreted';

/** A Map used as a bounded cache: the oldest entry goes first when it is full. */
function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  if (!map.has(key) && map.size >= max) map.delete(map.keys().next().value as K);
  map.set(key, value);
}

async function interpret(schema: GraphQLSchema, rc: GatewayGraphQLRequestContext): Promise<ExecutionResult> {
  const result = await execute({
    schema,
    document: rc.document,
    contextValue: rc.context,
    variableValues: rc.request.variables ?? {},
    operationName: rc.operationName ?? undefined,
  });
  return settledErrors(result, schema, rc.document, rc.operation);
}

/**
 * Executes queries with graphql-jit where it answers exactly as graphql-js would, and with
 * graphql-js's interpreter everywhere else. A compiled query walks the result tree without
 * graphql-js's per-field bookkeeping (path objects, resolve info, promise checks), which was the
 * largest share of this subgraph's CPU on large lists (bench/compare.ts). Apollo Server plugs in a
 * custom executor through its gateway interface: parsing, validation (with the request limits),
 * plugins, access control and error formatting stay Apollo's. The schema never changes at run time.
 *
 * Exactness (issue 17; test/differential-execution.test.ts compares both on generated operations,
 * key order and errors included) is kept in two steps:
 * - at compile time, only queries without directives are compiled (compilable.ts): graphql-jit
 *   runs selections that `@skip`/`@include` exclude and orders keys by excluded occurrences;
 * - at run time, a compiled result with any error is discarded and the query executed again on
 *   graphql-js with the same context. graphql-jit appends an extra `null` to a list for each item
 *   in error (an `_entities` answer of the wrong length), orders errors differently and words
 *   refused variables in its own way. The request's loaders keep what the first run read, failures
 *   included, so the second run mostly answers from them; the extra work is bounded by one more
 *   execution and paid only by answers with errors.
 * Errors are listed in the order of the response (error-order.ts), not in the order they happened:
 * that order follows the stores' timing, and differs between two graphql-js runs of one query.
 * Mutations always run on graphql-js: they cannot be run twice.
 *
 * `compileAfterRuns`: an operation runs that many times on graphql-js before it is compiled (0:
 * compiled at its first run). Compiling costs about as much as validating, and 4× as much for a
 * document of 40 aliased lists (23 ms): with the default of 1, operations sent once (a person in
 * Sandbox, a stream of distinct documents from a hostile caller) never pay it, while the
 * operations a router sends again and again are compiled on their second run.
 */
export function compiledExecution(
  schema: GraphQLSchema,
  {
    compileAfterRuns = 1,
    beforeRerun = () => undefined,
    interpretWhen,
  }: {
    compileAfterRuns?: number;
    /** Called with the request's context before a compiled run's answer is discarded and graphql-js runs it again. */
    beforeRerun?: (context: object) => void;
    /** Operations that run on graphql-js whatever their count (those a router wants traced). */
    interpretWhen?: (rc: GatewayGraphQLRequestContext) => boolean;
  } = {},
): GatewayInterface & { readonly executor: GatewayExecutor; compiledCount(): number } {
  const plans = new Map<string, Plan>();
  const runs = new Map<string, number>();
  const planOf = (rc: GatewayGraphQLRequestContext): Plan => {
    const key = planKey(rc.operationName ?? '', rc.queryHash);
    let plan = plans.get(key);
    if (plan) return plan;
    const seen = runs.get(key) ?? 0;
    if (seen < compileAfterRuns) {
      setBounded(runs, key, seen + 1, MAX_COUNTED);
      return 'interpreted';
    }
    runs.delete(key);
    plan = 'interpreted';
    if (rc.source.length <= MAX_COMPILED_SOURCE && compilable(rc.document, rc.operation)) {
      // A document graphql-jit refuses to compile is answered by graphql-js, errors and all.
      const compiled = compileQuery(schema, rc.document, rc.operationName ?? undefined, { disablingCapturingStackErrors: true });
      if (isCompiledQuery(compiled)) plan = compiled;
    }
    setBounded(plans, key, plan, MAX_COMPILED);
    return plan;
  };
  const executor: GatewayExecutor = async (rc) => {
    if (interpretWhen?.(rc)) return interpret(schema, rc);
    const plan = planOf(rc);
    if (plan === 'interpreted') return interpret(schema, rc);
    let result: ExecutionResult;
    try {
      result = await plan.query(undefined, rc.context, rc.request.variables ?? {});
    } catch {
      // A fault of the compiled function itself (graphql-js reports the resolvers' own as errors).
      beforeRerun(rc.context);
      return interpret(schema, rc);
    }
    if (!result.errors) return result;
    beforeRerun(rc.context);
    return interpret(schema, rc);
  };
  return {
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: '' });
      return () => undefined;
    },
    load: async () => ({ executor }),
    stop: async () => undefined,
    executor,
    compiledCount: () => [...plans.values()].filter((p) => p !== 'interpreted').length,
  };
}
