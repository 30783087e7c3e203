/**
 * The `operation` label of the request metrics. Every label value is a time series the process
 * keeps for good, so a caller must not be able to mint them: a name becomes a label only once its
 * operation passed the limits and access control (see observe-requests.ts), only if it is short and
 * plain, and only while fewer than the configured number of names have been seen (first come).
 * Everything else shares one of the fixed values below.
 */
export const OPERATION_LABEL = {
  /** Refused by access control: no or a bad token, a missing scope. */
  refused: 'refused',
  /** Never executed for another reason: unreadable body, syntax, validation, limits. */
  invalid: 'invalid',
  /** Executed, but its name was not plain or came after the cap, or it came without a token (what is open to all). */
  other: 'other',
} as const;

const MAX_LENGTH = 64;
/** Letters, digits, `_`, and the space and comma of an anonymous operation's root-field name. */
const PLAIN = /^[A-Za-z_][A-Za-z0-9_ ,]*$/;

const known = new Set<string>();

/**
 * The label for an operation that is about to execute. The set of names is one per process, as
 * prom-client's registry is.
 */
export function operationLabel(name: string, maxOperations: number): string {
  if (name.length > MAX_LENGTH || !PLAIN.test(name)) return OPERATION_LABEL.other;
  if (known.has(name)) return name;
  if (known.size >= maxOperations) return OPERATION_LABEL.other;
  known.add(name);
  return name;
}

/**
 * The `outcome` label: the response's first error code when it carries one, else what the HTTP
 * status says (a 500 written after GraphQL answered, or a body refused before GraphQL ran, whose
 * JSON answers BAD_USER_INPUT: src/server/transport-errors.ts).
 */
export function outcomeLabel(code: string, status: number): string {
  if (code !== 'ok') return /^[A-Z][A-Z_]{0,63}$/.test(code) ? code : 'INTERNAL_SERVER_ERROR';
  if (status >= 500) return 'INTERNAL_SERVER_ERROR';
  if (status >= 400) return 'BAD_USER_INPUT';
  return 'ok';
}
