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

/** Authorization headers for a subject with these scopes (and projects, when confined). */
export async function as(sub: string, scopes: readonly string[], projects?: string[]): Promise<Record<string, string>> {
  return bearer(await hs256({ sub, scope: scopes.join(' '), ...(projects ? { projects } : {}) }));
}

export interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  sign(claims: JWTPayload): Promise<string>;
  publicJwk: JWK;
}

export async function signingKey(kid: string, alg: 'RS256' | 'ES256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return {
    kid,
    alg,
    publicJwk,
    sign: (claims) => new SignJWT(claims).setProtectedHeader({ alg, kid }).setIssuedAt().setExpirationTime('1h').sign(privateKey),
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
