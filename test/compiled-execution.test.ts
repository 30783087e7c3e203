import type { GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { parse, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compiledExecution, MAX_COMPILED, MAX_COMPILED_SOURCE } from '../src/server/execution/compiled-executor.js';
import { buildSchema } from '../src/server/schema.js';
import { startDifferentialServer, type DifferentialServer } from './support/differential.js';
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

  it('never compiles an operation longer than MAX_COMPILED_SOURCE: compiled code grows with the document, and 500 kept plans of large ones held gigabytes', async () => {
    const execution = compiledExecution(buildSchema(), { compileAfterRuns: 0 });
    const long = `{ ${Array.from({ length: Math.ceil(MAX_COMPILED_SOURCE / 12) }, (_, i) => `a${i}: __typename`).join(' ')} }`;
    expect(long.length).toBeGreaterThan(MAX_COMPILED_SOURCE);
    for (let run = 0; run < 2; run++) expect((await execution.executor(request(long))).data).toMatchObject({ a0: 'Query' });
    expect(execution.compiledCount()).toBe(0);
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
      const result = await execution.executor(
        request(`{ resource(id: "x") { id } }`, {}, { loaders: { resource: { load: () => Promise.reject(boom) } } }),
      );
      expect(result.data).toEqual({ resource: null });
      expect(result.errors).toHaveLength(1);
      expect(result.errors![0].originalError).toBe(boom);
      expect(result.errors![0].path).toEqual(['resource']);
      expect(result.errors![0].locations).toEqual([{ line: 1, column: 3 }]);
      expect(result.errors![0].extensions).toEqual({});
    }
    expect(execution.compiledCount()).toBe(1);
  });
  it('never compiles a mutation or a document with @skip/@include: graphql-js runs them (issue 17, findings 9 and 10)', async () => {
    const execution = compiledExecution(buildSchema(), { compileAfterRuns: 0 });
    const context = { loaders: { resource: { load: () => Promise.resolve(null) } } };
    await execution.executor(
      request(`mutation { cancelDeletion(id: "x") { id } }`, {}, { engine: { cancelDeletion: () => Promise.reject(new Error('no')) } }),
    );
    await execution.executor(request(`query($b: Boolean!) { resource(id: "x") @include(if: $b) { id } }`, { b: true }, context));
    await execution.executor(request(`{ resource(id: "x") @skip(if: false) { id } }`, {}, context));
    expect(execution.compiledCount()).toBe(0);
    await execution.executor(request(`{ resource(id: "x") { id } }`, {}, context));
    expect(execution.compiledCount()).toBe(1);
  });

  it('answers a compiled query whose list items fail as graphql-js does: one entry per item (issue 17, finding 10)', async () => {
    const execution = compiledExecution(buildSchema(), { compileAfterRuns: 0 });
    // A failure that arrives after the later items were answered, as a failed batch does: graphql-jit
    // then pushes its null after them instead of setting it at the item's index.
    const failLater = () => new Promise((_, reject) => setImmediate(() => reject(new Error('boom'))));
    const loaders = { resource: { load: (id: string) => (id === 'bad' ? failLater() : Promise.resolve({ id, kind: 'Project' })) } };
    const query = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Resource { id } } }`;
    const r = ['bad', 'a', 'bad', 'b'].map((id) => ({ __typename: 'Resource', id }));
    for (let run = 0; run < 2; run++) {
      const result = await execution.executor(request(query, { r }, { loaders }));
      expect(JSON.stringify(result.data)).toBe(JSON.stringify({ _entities: [null, { id: 'a' }, null, { id: 'b' }] }));
      expect(result.errors?.map((e) => e.path)).toEqual([
        ['_entities', 0],
        ['_entities', 2],
      ]);
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

/** Issue 17, finding 9, over HTTP: what @skip/@include excludes is not run, whoever else selects the key. */
describe.each(OPERATIONAL_KINDS)('excluded selections through the executor (%s)', (store) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(store, { seedDemo: true });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('leaves out a field the same key selects again under @include(if: false) or @skip(if: true) with a fragment', async () => {
    for (const directive of ['@include(if: false)', '@skip(if: true)', '@include(if: $no)', '@skip(if: $yes)']) {
      const variable = /\$(\w+)/.exec(directive)?.[1];
      const query = `query${variable ? `($${variable}: Boolean!)` : ''} { projects(first: 1) { name } projects(first: 1) ${directive} { ... on Project { description } } }`;
      for (let run = 0; run < 2; run++) {
        const res = await s.gql(query, variable ? { [variable]: variable === 'yes' } : {});
        expect(res).toEqual({ data: { projects: [{ name: 'retail' }] } });
      }
    }
  });

  it('does not run an excluded part that fails, nor let it null the answer', async () => {
    const query = `{ projects(first: 1) { name } projects(first: 1) @skip(if: true) { ... on Project { history(first: -1) { version } } } }`;
    expect(await s.gql(query)).toEqual({ data: { projects: [{ name: 'retail' }] } });
  });

  it('orders keys as graphql-js does when the first occurrence of a key is excluded', async () => {
    const query = `{ a: projects(first: 1) @skip(if: true) { name } __typename a: projects(first: 1) { name } }`;
    const res = await fetch(s.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
    expect(await res.text()).toBe(`${JSON.stringify({ data: { __typename: 'Query', a: [{ name: 'retail' }] } })}\n`);
  });
});

/** Issue 17, finding 10, over HTTP: an `_entities` answer has one entry per representation, failing ones included. */
describe.each(OPERATIONAL_KINDS)('_entities with failing items through the executor, client store dead (%s)', (store) => {
  let d: DifferentialServer;
  beforeAll(async () => {
    d = await startDifferentialServer(store);
    await d.killClientStore();
  });
  afterAll(async () => {
    await d?.close();
  });

  const query = `query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Project { name } ... on Employee { employeeId name } } }`;

  it('answers 3 items for 3 representations, the first failing, with one error at its index', async () => {
    const r = [
      { __typename: 'Employee', employeeId: 'e-4' },
      { __typename: 'Project', name: 'retail' },
      { __typename: 'Employee', employeeId: 'e-2' },
    ];
    for (let run = 0; run < 2; run++) {
      const res = await d.s.gql(query, { r });
      expect(res.data).toEqual({
        _entities: [
          null,
          { __typename: 'Project', name: 'retail' },
          { __typename: 'Employee', employeeId: 'e-2', name: expect.any(String) },
        ],
      });
      expect(res.errors?.map((e) => [e.path, e.extensions?.code])).toEqual([[['_entities', 0], 'REMOTE_SOURCE_UNAVAILABLE']]);
    }
  });

  it('keeps every item in place when several fail, errors in item order', async () => {
    const r = [
      { __typename: 'Project', name: 'retail' },
      { __typename: 'Employee', employeeId: 'e-12' },
      { __typename: 'Employee', employeeId: 'e-999' },
      { __typename: 'Project', name: 'logistics' },
      { __typename: 'Employee', employeeId: 'e-1' },
    ];
    const res = await d.s.gql<{ _entities: unknown[] }>(query, { r });
    expect(res.data?._entities.map((e) => (e as { name?: string } | null)?.name ?? null)).toEqual([
      'retail',
      null,
      null,
      'logistics',
      null,
    ]);
    expect(res.errors?.map((e) => e.path)).toEqual([
      ['_entities', 1],
      ['_entities', 2],
      ['_entities', 4],
    ]);
    expect(new Set(res.errors?.map((e) => e.extensions?.code))).toEqual(new Set(['REMOTE_SOURCE_UNAVAILABLE']));
  });
});
