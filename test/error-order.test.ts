import { buildSchema, GraphQLError, Kind, parse, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { settledErrors } from '../src/server/execution/error-order.js';

const schema = buildSchema(`
  type Query { fatal: [Item!]! optional: Item items: [Item]! }
  type Item { id: ID! name: String child: Item! }
`);
const document = parse(
  '{ a: fatal { child { id } } optional { child { id } } items { id } ...F } fragment F on Query { b: fatal { name } }',
);
const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
const error = (message: string, path: (string | number)[]) => new GraphQLError(message, { path });

describe('errors as callers get them (settledErrors)', () => {
  it('when data is null, only the errors that made it null are kept, in the order of the response', () => {
    const settled = settledErrors(
      {
        data: null,
        errors: [
          error('item of a nullable list', ['items', 0, 'id']),
          error('through a fragment, non-null all the way', ['b', 2, 'name']),
          error('nullable root field', ['optional', 'child', 'id']),
          error('non-null all the way', ['a', 1, 'child', 'id']),
        ],
      },
      schema,
      document,
      operation,
    );
    // b.name is nullable (String): absorbed there, not fatal.
    expect(settled.errors!.map((e) => e.message)).toEqual(['non-null all the way']);
  });

  it('keeps every error when data is there, ordered by where they point in it', () => {
    const data = { a: [], optional: null, items: [null], b: [] };
    const settled = settledErrors(
      { data, errors: [error('second', ['items', 0]), error('first', ['optional', 'child'])] },
      schema,
      document,
      operation,
    );
    expect(settled.errors!.map((e) => e.message)).toEqual(['first', 'second']);
  });

  it('keeps an error without a path, or whose path it cannot follow, as fatal', () => {
    const settled = settledErrors(
      { data: null, errors: [new GraphQLError('request'), error('unknown', ['nope', 'x']), error('nullable', ['optional'])] },
      schema,
      document,
      operation,
    );
    expect(settled.errors!.map((e) => e.message)).toEqual(['request', 'unknown']);
  });
});
