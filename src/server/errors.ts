import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { StoreUnavailableError } from '../data/store-errors.js';
import { DomainError } from '../engine/errors.js';

const MAX_MESSAGE = 500;
/** Apollo's codes for requests at fault (persisted-query signals stay: clients act on them). */
const CALLER_FAULTS = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_REQUEST', 'OPERATION_RESOLUTION_FAILURE']);
const MAX_VALUE = 200;
/** How Apollo Server's validation rule refuses introspection when it is off. */
const INTROSPECTION_OFF = 'GraphQL introspection is not allowed';

/** Shortens a string that echoes user input: a 1 MB id must not come back as a 1 MB error. */
function cap(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters in all)`;
}

/** Caps every string inside error details (ids, names, keys the user sent). */
function capValues(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return cap(value, MAX_VALUE);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => capValues(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, capValues(v, depth + 1)]));
}

/**
 * An error Apollo Server raised itself about the request, with an HTTP status in the 4xx range but
 * no code (a persisted query whose hash does not match its text, an unsupported persisted-query
 * version): the caller's mistake, never a fault of ours.
 */
export function isRequestRefusal(error: unknown): boolean {
  if (!(error instanceof GraphQLError) || error.originalError || error.extensions?.code !== undefined) return false;
  const status = (error.extensions?.http as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/** Every error leaves with its echoed input capped. */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const out = classify(formatted, error);
  return {
    ...out,
    message: cap(out.message, MAX_MESSAGE),
    ...(out.extensions ? { extensions: capValues(out.extensions) as Record<string, unknown> } : {}),
  };
}

/**
 * Engine refusals become errors with the contract's code and the engine's message; anything else
 * is an internal error whose details stay in the log, not in the response.
 */
function classify(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
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
  if (isRequestRefusal(error)) return { ...formatted, extensions: { ...formatted.extensions, code: 'BAD_USER_INPUT' } };
  const code = formatted.extensions?.code;
  // A document that does not parse or validate, or a request Apollo cannot run, is the caller's
  // mistake: the contract's BAD_USER_INPUT (graphql-js's token limit among them, src/server/limits).
  if (typeof code === 'string' && CALLER_FAULTS.has(code)) {
    // Apollo's own text tells the caller to change server code; an operator changes a setting.
    const message = formatted.message.startsWith(INTROSPECTION_OFF)
      ? 'Introspection is turned off on this server; the setting INTROSPECTION=true turns it on'
      : formatted.message;
    return { ...formatted, message, extensions: { ...formatted.extensions, code: 'BAD_USER_INPUT' } };
  }
  if (code === 'INTERNAL_SERVER_ERROR' || code === undefined) {
    return {
      message: 'Internal server error',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  }
  return formatted;
}
