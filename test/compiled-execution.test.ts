import type { GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { parse, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compiledExecution, MAX_COMPILED } from '../src/server/execution/compiled-executor.js';
import { buildSchema } from '../src/server/schema.js';
import { OPERATIONAL_KINDS } from './support/stores.js';
import { startTestServer, type TestServer } from './support/server.js';

/**
 * Operations run through graphql-jit (src/server/execution/compiled-executor.ts): what callers see
 * must be what graphql-js would give them, errors included.
 */

function request(query: string, variables: Record<string, unknown> = {}, context: object = {}): GatewayGraphQLRequestContext {
  const document = parse(query);
  return {
    document,
    source: query,
    queryHash: query,
    operationName: null,
    operation: document.definitions[0] as OperationDefinitionNode,
    request: { query, variables },
    context,
  } as unknown as GatewayGraphQLRequestContext;
}

describe('the compiled executor', () => {
  it('keeps at most MAX_COMPILED compiled operations, the oldest going first', async () => {
    const execution = compiledExecution(buildSchema(), { compileAfterRuns: 0 });
    for (let i = 0; i < MAX_COMPILED + 20; i++) {
      const result = await execution.executor(request(`{ a${i}: __typename }`));
      expect(result.data).toEqual({ [`a${i}`]: 'Query' });
    }
    expect(execution.compiledCount()).toBe(MAX_COMPILED);
  });

  it('by default runs an operation once on graphql-js and compiles it on its second run, answering the same', async () => {
    const execution = compiledExecution(buildSchema());
    const first = await execution.executor(request(`{ t: __typename }`));
    expect(execution.compiledCount()).toBe(0);
    const second = await execution.executor(request(`{ t: __typename }`));
    expect(execution.compiledCount()).toBe(1);
    expect(second).toEqual(first);
  });

  it('words refused variables as graphql-js does, tied to the variable, interpreted or compiled', async () => {
    const execution = compiledExecution(buildSchema());
    for (let run = 0; run < 2; run++) {
      const result = await execution.executor(request(`query($n: Int) { projects(first: $n) { name } }`, { n: 'many' }));
      expect(result.data).toBeUndefined();
      expect(result.errors?.[0].message).toMatch(/^Variable "\$n" got invalid value "many"; Int cannot represent non-integer value/);
      expect(result.errors?.[0].nodes?.[0].kind).toBe('VariableDefinition');
    }
    expect(execution.compiledCount()).toBe(1);
  });

  it('keeps a resolver error as the original error with its path, and an extensions object Apollo can read, interpreted or compiled', async () => {
    const execution = compiledExecution(buildSchema());
    const boom = new Error('boom');
    for (let run = 0; run < 2; run++) {
      const result = await execution.executor(request(`{ resource(id: "x") { id } }`, {}, { loaders: { resource: { load: () => Promise.reject(boom) } } }));
      expect(result.data).toEqual({ resource: null });
      expect(result.errors).toHaveLength(1);
      expect(result.errors![0].originalError).toBe(boom);
      expect(result.errors![0].path).toEqual(['resource']);
      expect(result.errors![0].locations).toEqual([{ line: 1, column: 3 }]);
      expect(result.errors![0].extensions).toEqual({});
    }
    expect(execution.compiledCount()).toBe(1);
  });
});

describe.each(OPERATIONAL_KINDS)('operations over HTTP through the compiled executor (%s)', (store) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(store, { seedDemo: true });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('answers introspection, null propagation and aliases as graphql-js would', async () => {
    const res = await s.gql<any>(`{
      __schema { queryType { name } }
      a: projects(first: 1) { name }
      b: projects(first: 1) { n: name }
      missing: resource(id: "00000000-0000-7000-8000-000000000000") { id }
    }`);
    expect(res.errors).toBeUndefined();
    expect(res.data.__schema.queryType.name).toBe('Query');
    expect(res.data.a).toEqual([{ name: res.data.b[0].n }]);
    expect(res.data.missing).toBeNull();
  });

  it('gives the contract code of an engine refusal and BAD_USER_INPUT for a refused variable', async () => {
    const refused = await s.gql(`mutation($id: ID!) { cancelDeletion(id: $id) { id } }`, { id: '00000000-0000-7000-8000-000000000000' });
    expect(refused.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    const badVariable = await s.gql(`query($n: Int) { projects(first: $n) { name } }`, { n: 'many' });
    expect(badVariable.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
  });
});
