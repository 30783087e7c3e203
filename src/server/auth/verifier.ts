import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { AuthSettings } from '../../config.js';
import type { Logger } from '../../logger.js';
import type { AuthState, Principal } from './principal.js';

const ASYMMETRIC = ['RS256', 'ES256'];
/** Audit columns hold 255 characters; a longer subject could not be recorded faithfully. */
const MAX_SUBJECT = 255;

/**
 * Verifies bearer tokens with jose: HS256 against AUTH_JWT_SECRET, RS256/ES256 against the keys of
 * AUTH_JWKS_URL. The remote key set is cached; a token signed with a key id it does not know makes
 * it refetch (at most once per cooldown), which is how key rotation reaches us.
 */
export class TokenVerifier {
  private readonly secret?: Uint8Array;
  private readonly jwks?: JWTVerifyGetKey;

  constructor(
    private readonly settings: AuthSettings,
    private readonly log?: Logger,
  ) {
    if (settings.jwtSecret) this.secret = new TextEncoder().encode(settings.jwtSecret);
    if (settings.jwksUrl) {
      this.jwks = createRemoteJWKSet(new URL(settings.jwksUrl), {
        cooldownDuration: settings.jwksCooldownSeconds * 1000,
        cacheMaxAge: 10 * 60 * 1000,
        timeoutDuration: 5000,
      });
    }
  }

  async authenticate(authorization: string | undefined): Promise<AuthState> {
    if (this.settings.mode === 'none') return { mode: 'none' };
    if (!authorization) return { mode: 'jwt', principal: null, problem: 'This operation needs a bearer token (Authorization: Bearer <JWT>)' };
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) return { mode: 'jwt', principal: null, problem: 'The Authorization header must be "Bearer <JWT>"' };
    try {
      return { mode: 'jwt', principal: this.principalOf(await this.verify(match[1])) };
    } catch (e) {
      return { mode: 'jwt', principal: null, problem: this.describe(e) };
    }
  }

  private async verify(token: string): Promise<JWTPayload> {
    const options = { issuer: this.settings.issuer, audience: this.settings.audience };
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new errors.JWTInvalid('malformed');
    }
    if (alg === 'HS256' && this.secret) return (await jwtVerify(token, this.secret, { ...options, algorithms: ['HS256'] })).payload;
    if (alg && ASYMMETRIC.includes(alg) && this.jwks) return (await jwtVerify(token, this.jwks, { ...options, algorithms: ASYMMETRIC })).payload;
    throw new UnacceptedAlgorithm(alg);
  }

  private principalOf(payload: JWTPayload): Principal {
    const subject = typeof payload.sub === 'string' ? payload.sub : null;
    if (subject && subject.length > MAX_SUBJECT) throw new ClaimProblem(`the token's subject is longer than ${MAX_SUBJECT} characters`);
    return { subject, scopes: new Set(this.scopesOf(payload)), projects: this.projectsOf(payload) };
  }

  private scopesOf(payload: JWTPayload): string[] {
    const claims = this.settings.scopesClaim ? [this.settings.scopesClaim] : ['scope', 'scp'];
    const value = claims.map((c) => payload[c]).find((v) => v !== undefined);
    if (value === undefined) return [];
    if (typeof value === 'string') return value.split(/\s+/).filter(Boolean);
    if (Array.isArray(value) && value.every((s) => typeof s === 'string')) return value;
    throw new ClaimProblem(`the ${claims.join('/')} claim must be a space-separated string or a list of strings`);
  }

  private projectsOf(payload: JWTPayload): string[] | null {
    const claim = this.settings.projectsClaim;
    const value = payload[claim];
    if (value === undefined || value === null) return null;
    if (Array.isArray(value) && value.every((p) => typeof p === 'string')) return value;
    // Fail closed: a malformed confinement must not read as "every project".
    throw new ClaimProblem(`the ${claim} claim must be a list of project names`);
  }

  /** Says what was wrong with the token without echoing it or naming hosts. */
  private describe(e: unknown): string {
    if (e instanceof ClaimProblem) return `The token was refused: ${e.message}`;
    if (e instanceof UnacceptedAlgorithm) return `The token was refused: it is signed with ${e.alg ?? 'no algorithm'}, which this server does not accept`;
    if (e instanceof errors.JWTExpired) return 'The token has expired';
    if (e instanceof errors.JWTClaimValidationFailed) return `The token was refused: its ${e.claim} claim is not acceptable`;
    if (e instanceof errors.JWSSignatureVerificationFailed) return 'The token was refused: its signature does not verify';
    if (e instanceof errors.JWKSNoMatchingKey) return 'The token was refused: no known key matches its key id';
    if (e instanceof errors.JWSInvalid || e instanceof errors.JWTInvalid) return 'The token was refused: it is not a well-formed JWT';
    // Anything else is on our side (the key set unreachable, say): worth a line in the log.
    this.log?.warn({ err: e }, 'token verification failed');
    if (e instanceof errors.JOSEError) return `The token was refused: ${e.code}`;
    return 'The token could not be verified';
  }
}

class ClaimProblem extends Error {}
class UnacceptedAlgorithm extends Error {
  constructor(readonly alg: string | undefined) {
    super(`unaccepted algorithm ${alg}`);
  }
}
