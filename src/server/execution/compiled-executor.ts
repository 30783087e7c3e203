import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import { getVariableValues, GraphQLError, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { compileQuery, isCompiledQuery } from 'graphql-jit';

/** Compiled operations kept (by query hash and operation name); the oldest goes first. */
export const MAX_COMPILED = 500;

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

/**
 * Executes operations with graphql-jit instead of graphql-js's interpreter: each document is
 * compiled once into a function that walks the result tree without graphql-js's per-field
 * bookkeeping (path objects, resolve info, promise checks), which was the largest share of this
 * subgraph's CPU on large lists (bench/compare.ts). Apollo Server plugs in a custom executor
 * through its gateway interface: parsing, validation (with the request limits), plugins, access
 * control and error formatting stay Apollo's. The schema never changes at run time.
 */
export function compiledExecution(schema: GraphQLSchema): GatewayInterface & { readonly executor: GatewayExecutor; compiledCount(): number } {
  const compiled = new Map<string, Compiled>();
  const executor: GatewayExecutor = async (rc) => {
    const key = `${rc.operationName ?? ''}|${rc.queryHash}`;
    let c = compiled.get(key);
    if (!c) {
      c = compileQuery(schema, rc.document, rc.operationName ?? undefined, { disablingCapturingStackErrors: true });
      if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
      compiled.set(key, c);
    }
    const variables = rc.request.variables ?? {};
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
