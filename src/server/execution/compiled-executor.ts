import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import { execute, getVariableValues, GraphQLError, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { compileQuery, isCompiledQuery } from 'graphql-jit';

/** Compiled operations kept (by operation name and query hash); the oldest goes first. */
export const MAX_COMPILED = 500;
/** Operations counted towards compilation; the oldest count goes first. */
const MAX_COUNTED = 5_000;

type Compiled = ReturnType<typeof compileQuery<Record<string, unknown>, Record<string, unknown>>>;

/**
 * graphql-jit's errors carry no `extensions` when the resolver's error has none, and Apollo's
 * error formatting reads `extensions.code`: each becomes a graphql-js GraphQLError with the same
 * message, path, locations and original error.
 */
function asGraphQLError(e: GraphQLError): GraphQLError {
  if (e.extensions) return e;
  const out = new GraphQLError(e.message, { path: e.path, originalError: e.originalError ?? undefined });
  (out as { locations?: GraphQLError['locations'] }).locations = e.locations;
  return out;
}

/** A Map used as a bounded cache: the oldest entry goes first when it is full. */
function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  if (!map.has(key) && map.size >= max) map.delete(map.keys().next().value as K);
  map.set(key, value);
}

/**
 * Executes operations with graphql-jit instead of graphql-js's interpreter: each operation that
 * comes back is compiled once into a function that walks the result tree without graphql-js's
 * per-field bookkeeping (path objects, resolve info, promise checks), which was the largest share
 * of this subgraph's CPU on large lists (bench/compare.ts). Apollo Server plugs in a custom
 * executor through its gateway interface: parsing, validation (with the request limits), plugins,
 * access control and error formatting stay Apollo's. The schema never changes at run time.
 */
/**
 * `compileAfterRuns`: an operation runs that many times on graphql-js before it is compiled (0:
 * compiled at its first run). Compiling costs about as much as validating, and 4× as much for a
 * document of 40 aliased lists (23 ms): with the default of 1, operations sent once (a person in
 * Sandbox, a stream of distinct documents from a hostile caller) never pay it, while the
 * operations a router sends again and again are compiled on their second run.
 */
export function compiledExecution(
  schema: GraphQLSchema,
  { compileAfterRuns = 1 }: { compileAfterRuns?: number } = {},
): GatewayInterface & { readonly executor: GatewayExecutor; compiledCount(): number } {
  const compiled = new Map<string, Compiled>();
  const runs = new Map<string, number>();
  const executor: GatewayExecutor = async (rc) => {
    const key = `${rc.operationName ?? ''}|${rc.queryHash}`;
    const variables = rc.request.variables ?? {};
    let c = compiled.get(key);
    if (!c) {
      const seen = runs.get(key) ?? 0;
      if (seen < compileAfterRuns) {
        setBounded(runs, key, seen + 1, MAX_COUNTED);
        return execute({ schema, document: rc.document, contextValue: rc.context, variableValues: variables, operationName: rc.operationName ?? undefined });
      }
      runs.delete(key);
      c = compileQuery(schema, rc.document, rc.operationName ?? undefined, { disablingCapturingStackErrors: true });
      setBounded(compiled, key, c, MAX_COMPILED);
    }
    const result: ExecutionResult = isCompiledQuery(c) ? await c.query(undefined, rc.context, variables) : c;
    if (!result.errors) return result;
    if (!('data' in result)) {
      // Refused variables: graphql-js's coercion words the errors and ties them to the variable's
      // definition, which is how Apollo Server tells them apart as BAD_USER_INPUT.
      const coerced = getVariableValues(schema, rc.operation.variableDefinitions ?? [], variables);
      if (coerced.errors) return { errors: coerced.errors };
    }
    return { ...result, errors: result.errors.map(asGraphQLError) };
  };
  return {
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: '' });
      return () => undefined;
    },
    load: async () => ({ executor }),
    stop: async () => undefined,
    executor,
    compiledCount: () => compiled.size,
  };
}
