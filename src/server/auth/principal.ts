/** A caller whose token verified: what its claims grant. */
export interface Principal {
  /** The token's `sub` (a non-empty string): recorded as the author of changes. */
  subject: string;
  scopes: ReadonlySet<string>;
  /** The projects claim; null when the token has none (every project). */
  projects: readonly string[] | null;
}

/**
 * What the request's Authorization header amounted to. With AUTH_MODE=none nothing is checked;
 * with jwt a request without a (valid) token still reaches the server, so that the router's
 * `_service` query stays open, and the access-control plugin refuses everything else.
 */
export type AuthState = { mode: 'none' } | { mode: 'jwt'; principal: Principal } | { mode: 'jwt'; principal: null; problem: string };
