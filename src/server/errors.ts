import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { StoreUnavailableError } from '../data/store-errors.js';
import { DomainError } from '../engine/errors.js';

/**
 * Engine refusals become errors with the contract's code and the engine's message; anything else
 * is an internal error whose details stay in the log, not in the response.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  if (original instanceof DomainError) {
    return {
      ...formatted,
      message: original.message,
      extensions: { ...(original.details ?? {}), code: original.code },
    };
  }
  if (original instanceof StoreUnavailableError) {
    return { message: original.message, locations: formatted.locations, path: formatted.path, extensions: { code: 'STORE_UNAVAILABLE' } };
  }
  // A scalar that refused a literal in the document: validation wraps it, but the user's value was at fault.
  for (let cause = error; cause instanceof Error; cause = (cause as GraphQLError).originalError) {
    if (cause !== error && cause instanceof GraphQLError && cause.extensions?.code === 'BAD_USER_INPUT') {
      return { ...formatted, extensions: { ...formatted.extensions, code: 'BAD_USER_INPUT' } };
    }
  }
  const code = formatted.extensions?.code;
  if (code === 'INTERNAL_SERVER_ERROR' || code === undefined) {
    return { message: 'Internal server error', locations: formatted.locations, path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  }
  return formatted;
}
