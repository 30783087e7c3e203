import { buildSchema, execute, GraphQLError, parse, print, type ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../src/engine/errors.js';
import { differences, onlyRootField } from './support/differential.js';

// The differential test re-runs a failing root field alone; the document it makes must parse
// whatever shape the generator chose (fragments on Query included), or the check itself fails.
describe('onlyRootField', () => {
  const query = `query Q($a: Boolean!) {
    one: projects { name }
    ...Rest
    ... on Query { three: apps { name } }
  }
  fragment Rest on Query { two: clusters @skip(if: $a) { name } four: apps @include(if: $a) { name } }`;

  it('skips every other root field, through named and inline fragments, and the result parses', () => {
    const printed = print(onlyRootField(parse(query), 'one'));
    expect(() => parse(printed)).not.toThrow();
    expect(printed).toContain('one: projects {');
    for (const key of ['two: clusters @skip(if: true)', 'three: apps @skip(if: true)', 'four: apps @include(if: $a) @skip(if: true)']) {
      expect(printed).toContain(key);
    }
  });

  it('keeps the field it answers for untouched inside a fragment whose other fields are skipped', () => {
    const printed = print(onlyRootField(parse(query), 'two'));
    expect(printed).toContain('two: clusters @skip(if: $a) {');
    expect(printed).toContain('one: projects @skip(if: true)');
    expect(() => parse(printed)).not.toThrow();
  });
});

// Two non-null root fields that both fail: graphql-js reports whichever failed first, which is
// timing. The check must accept either one, and still catch an error no field alone produces.
describe('differences, when two answers have null data', () => {
  const schema = buildSchema('type Query { a: String! b: String! c: String }');
  const rootValue = {
    a: () => Promise.reject(new DomainError('NOT_FOUND', 'a failed')),
    b: () => Promise.reject(new DomainError('NOT_FOUND', 'b failed')),
    c: () => 'c',
  };
  const interpreted = async (op: { query: string; variables: Record<string, unknown> }) =>
    (await execute({ schema, document: parse(op.query), rootValue, variableValues: op.variables })) as ExecutionResult;
  const op = { query: '{ ...F c } fragment F on Query { a b }', variables: {} };
  const failed = (field: string, message = `${field} failed`): ExecutionResult => ({
    data: null,
    errors: [new GraphQLError(message, { path: [field], originalError: new DomainError('NOT_FOUND', message) })],
  });

  it('agree when each reports the fatal error of a root field that fails alone', async () => {
    expect(await differences([op], 0, { interpreted, other: async () => failed('b') })).toEqual([]);
  });

  it('differ when one reports an error its root field does not produce alone', async () => {
    const found = await differences([op], 0, { interpreted, other: async () => failed('b', 'b failed differently') });
    expect(found).toHaveLength(1);
  });

  it('differ when one reports a fatal error under a root field that does not fail alone', async () => {
    expect(await differences([op], 0, { interpreted, other: async () => failed('c') })).toHaveLength(1);
  });

  it('differ when one has data and the other none', async () => {
    const found = await differences([op], 7, { interpreted, other: async () => ({ data: { a: 'x', b: 'y', c: 'c' } }) });
    expect(found.map((d) => d.index)).toEqual([7]);
  });
});
