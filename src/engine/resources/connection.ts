import { badInput } from '../errors.js';

/**
 * Cursors of a kind's connection: opaque to callers, and bound to the list they came from (the
 * kind and the ancestor identity it was narrowed to), so an `after` from another list is refused
 * instead of silently starting that list somewhere else. Ids are in creation-independent order
 * (the store's id order), so a cursor stays valid after its resource is deleted.
 */

export interface CursorScope {
  kind: string;
  /** The ancestor identity values the list was narrowed to ([] for none). */
  keyPrefix: readonly string[];
}

export function encodeCursor(scope: CursorScope, id: string): string {
  return Buffer.from(JSON.stringify([scope.kind, scope.keyPrefix, id]), 'utf8').toString('base64url');
}

/** The id a cursor points after; BAD_USER_INPUT when it is not a cursor of this list. */
export function decodeCursor(scope: CursorScope, cursor: string): string {
  const refuse = () =>
    badInput(
      `after: ${JSON.stringify(cursor.length > 100 ? `${cursor.slice(0, 100)}…` : cursor)} is not a cursor of this list of ${scope.kind}`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw refuse();
  }
  if (!Array.isArray(parsed) || parsed.length !== 3) throw refuse();
  const [kind, prefix, id] = parsed as unknown[];
  if (kind !== scope.kind || typeof id !== 'string' || id === '' || JSON.stringify(prefix) !== JSON.stringify(scope.keyPrefix))
    throw refuse();
  return id;
}

export interface ConnectionPage<T> {
  edges: Array<{ cursor: string; node: T }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number | null;
}

/** A connection from a page read one item past `first` (that item only says there is a next page). */
export function connectionOf<T extends { id: string }>(
  scope: CursorScope,
  read: readonly T[],
  first: number,
  totalCount: number | null,
): ConnectionPage<T> {
  const nodes = read.slice(0, first);
  const edges = nodes.map((node) => ({ cursor: encodeCursor(scope, node.id), node }));
  return {
    edges,
    pageInfo: { hasNextPage: read.length > first, endCursor: edges.length ? edges[edges.length - 1].cursor : null },
    totalCount,
  };
}
