/** Error codes of the public contract; the GraphQL layer copies them into `extensions.code`. */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'VERSION_CONFLICT'
  | 'REFERENCES_MARKED_RESOURCE'
  | 'RESOURCE_MARKED_FOR_DELETION'
  | 'REMOTE_ENTITY_NOT_FOUND'
  | 'REMOTE_SOURCE_UNAVAILABLE'
  | 'MAINTENANCE_BUSY';

/** A refusal the user can act on. Anything else reaching the API is an internal error. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const badInput = (message: string, details?: Record<string, unknown>) => new DomainError('BAD_USER_INPUT', message, details);

export const notFound = (message: string, details?: Record<string, unknown>) => new DomainError('NOT_FOUND', message, details);
