import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';

/** A secret for HS256 test servers (tests sign their own tokens, as the checker does). */
export const TEST_SECRET = 'integrity-subgraph-test-secret-0123456789';

export const SCOPES = ['integrity:read', 'integrity:write', 'integrity:approve', 'integrity:admin', 'integrity:feed'] as const;

/** Server settings that turn on HS256 tokens. */
export const jwtEnv = (extra: Record<string, string> = {}) => ({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: TEST_SECRET, ...extra });

/** A signed HS256 token; `exp` one hour ahead unless the claims say otherwise. */
export async function hs256(claims: JWTPayload & { scope?: string; projects?: string[] }, secret = TEST_SECRET): Promise<string> {
  const { exp, ...rest } = claims;
  return new SignJWT(rest)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime(exp ?? '1h')
    .sign(new TextEncoder().encode(secret));
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** An HS256 token signed exactly as given, header and claims included (jose would refuse to sign some of these). */
export function rawHs256(header: Record<string, unknown>, payload: Record<string, unknown>, secret = TEST_SECRET): string {
  const input = `${b64({ alg: 'HS256', ...header })}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/**
 * Tokens that carry every scope but must be refused (UNAUTHENTICATED) for what they are: each
 * names the rule of "Tokens" (runtime contract) it breaks.
 */
export function unacceptableTokens(scopes: readonly string[] = SCOPES): Array<[string, Record<string, string>]> {
  const now = Math.floor(Date.now() / 1000);
  const scope = scopes.join(' ');
  return [
    ['no token', {}],
    ['expired', bearer(rawHs256({}, { sub: 'x', scope, iat: now - 120, exp: now - 60 }))],
    ['no exp', bearer(rawHs256({}, { sub: 'x', scope, iat: now }))],
    ['exp 1e20', bearer(rawHs256({}, { sub: 'x', scope, iat: now, exp: 1e20 }))],
    ['lives 2 days', bearer(rawHs256({}, { sub: 'x', scope, iat: now, exp: now + 2 * 86400 }))],
    ['iat in the future hides a long life', bearer(rawHs256({}, { sub: 'x', scope, iat: now + 10 * 86400, exp: now + 10 * 86400 + 60 }))],
    ['sub a number', bearer(rawHs256({}, { sub: 42, scope, iat: now, exp: now + 60 }))],
    ['sub empty', bearer(rawHs256({}, { sub: '', scope, iat: now, exp: now + 60 }))],
    ['no sub', bearer(rawHs256({}, { scope, iat: now, exp: now + 60 }))],
    ['crit header', bearer(rawHs256({ crit: ['x-unknown'], 'x-unknown': 1 }, { sub: 'x', scope, iat: now, exp: now + 60 }))],
    ['alg none', bearer(`${b64({ alg: 'none' })}.${b64({ sub: 'x', scope, exp: now + 60 })}.`)],
    ['another secret', bearer(rawHs256({}, { sub: 'x', scope, iat: now, exp: now + 60 }, 'some-other-secret-0123456789abcdef'))],
  ];
}

/** Authorization headers for a subject with these scopes (and projects, when confined). */
export async function as(sub: string, scopes: readonly string[], projects?: string[]): Promise<Record<string, string>> {
  return bearer(await hs256({ sub, scope: scopes.join(' '), ...(projects ? { projects } : {}) }));
}

export interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  /** Signs with `exp` one hour ahead, or as `expires` says (null: no `exp` at all). */
  sign(claims: JWTPayload, expires?: string | number | null): Promise<string>;
  publicJwk: JWK;
}

export async function signingKey(kid: string, alg: 'RS256' | 'ES256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return {
    kid,
    alg,
    publicJwk,
    sign: (claims, expires = '1h') => {
      const jwt = new SignJWT(claims).setProtectedHeader({ alg, kid }).setIssuedAt();
      return (expires === null ? jwt : jwt.setExpirationTime(expires)).sign(privateKey);
    },
  };
}

/** A JWKS endpoint on loopback whose key set the test can rotate; counts fetches. */
export class JwksServer {
  keys: SigningKey[] = [];
  fetches = 0;
  private server?: Server;
  url = '';

  async start(keys: SigningKey[]): Promise<this> {
    this.keys = keys;
    this.server = createServer((_req, res) => {
      this.fetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: this.keys.map((k) => k.publicJwk) }));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/.well-known/jwks.json`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
