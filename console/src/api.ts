/** The public GraphQL API on this origin, with the token the person gave (jwt mode) as Authorization. */

const TOKEN_KEY = 'integrity-console-token';

export function getToken(): string {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

export function setToken(token: string): void {
  const t = token.trim().replace(/^Bearer\s+/i, '');
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
  for (const l of tokenListeners) l();
}

const tokenListeners = new Set<() => void>();
export function onTokenChange(l: () => void): () => void {
  tokenListeners.add(l);
  return () => tokenListeners.delete(l);
}

export interface GqlErrorItem {
  message: string;
  extensions?: { code?: string; [k: string]: unknown };
}

/** A GraphQL answer with errors (or a transport failure), with the contract's code. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly errors: GqlErrorItem[] = [],
  ) {
    super(message);
  }
}

/** Scopes the token claims (shown actions follow them; the server decides). Null: no token, or no scope claim read. */
export function tokenScopes(): Set<string> | null {
  const token = getToken();
  if (!token) return null;
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))) as { scope?: unknown; scp?: unknown };
    if (typeof payload.scope === 'string') return new Set(payload.scope.split(/\s+/));
    if (Array.isArray(payload.scp)) return new Set(payload.scp.map(String));
  } catch {
    // Not a JWT we can read: let the server decide.
  }
  return null;
}

/** True when the caller may try this: no readable scope claim means we do not know, so yes. */
export function mayUse(scope: string): boolean {
  const scopes = tokenScopes();
  return scopes === null || scopes.has(scope);
}

export async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  } catch {
    throw new ApiError('The subgraph does not answer.', 'NETWORK');
  }
  let body: { data?: T; errors?: GqlErrorItem[] };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    throw new ApiError(`The subgraph answered ${res.status} without JSON.`, 'NETWORK');
  }
  if (body.errors?.length) {
    const first = body.errors[0];
    throw new ApiError(body.errors.map((e) => e.message).join('\n'), first.extensions?.code ?? 'INTERNAL_SERVER_ERROR', body.errors);
  }
  if (!body.data) throw new ApiError('The subgraph answered without data.', 'INTERNAL_SERVER_ERROR');
  return body.data;
}
