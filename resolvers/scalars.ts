import { GraphQLError, GraphQLScalarType, Kind, valueFromASTUntyped } from 'graphql';
import { fromIso, toIso } from '../src/data/time.js';

const badInstant = (value: unknown) =>
  new GraphQLError(`DateTime must be an ISO-8601 instant with a time zone, e.g. 2026-11-21T10:00:00Z (got ${JSON.stringify(value)})`, {
    extensions: { code: 'BAD_USER_INPUT' },
  });

/** Instants travel as ISO-8601 UTC with microseconds; inside, they are stored timestamps. */
export const DateTime = new GraphQLScalarType<string, string>({
  name: 'DateTime',
  serialize: (value) => toIso(String(value)),
  parseValue: (value) => {
    const ts = typeof value === 'string' ? fromIso(value) : null;
    if (!ts) throw badInstant(value);
    return ts;
  },
  parseLiteral: (ast) => {
    const ts = ast.kind === Kind.STRING ? fromIso(ast.value) : null;
    if (!ts) throw badInstant(ast.kind === Kind.STRING ? ast.value : ast.kind);
    return ts;
  },
});

export const JSONScalar = new GraphQLScalarType<unknown, unknown>({
  name: 'JSON',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => valueFromASTUntyped(ast, variables),
});
