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
    if (!authorization)
      return { mode: 'jwt', principal: null, problem: 'This operation needs a bearer token (Authorization: Bearer <JWT>)' };
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) return { mode: 'jwt', principal: null, problem: 'The Authorization header must be "Bearer <JWT>"' };
    try {
      return { mode: 'jwt', principal: this.principalOf(await this.verify(match[1])) };
    } catch (e) {
      return { mode: 'jwt', principal: null, problem: this.describe(e) };
    }
  }

  private async verify(token: string): Promise<JWTPayload> {
    // `exp` is required: a token without it would never expire.
    const options = { issuer: this.settings.issuer, audience: this.settings.audience, requiredClaims: ['exp'] };
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new errors.JWTInvalid('malformed');
    }
    if (alg === 'HS256' && this.secret) return (await jwtVerify(token, this.secret, { ...options, algorithms: ['HS256'] })).payload;
    if (alg && ASYMMETRIC.includes(alg) && this.jwks)
      return (await jwtVerify(token, this.jwks, { ...options, algorithms: ASYMMETRIC })).payload;
    throw new UnacceptedAlgorithm(alg);
  }

  private principalOf(payload: JWTPayload): Principal {
    this.checkLifetime(payload);
    const subject = payload.sub;
    // The subject is recorded as the author of changes: a token without one could not be audited.
    if (typeof subject !== 'string' || !subject) throw new ClaimProblem('its sub claim must be a non-empty string');
    if (subject.length > MAX_SUBJECT) throw new ClaimProblem(`the token's subject is longer than ${MAX_SUBJECT} characters`);
    return { subject, scopes: new Set(this.scopesOf(payload)), projects: this.projectsOf(payload) };
  }

  /** A stolen token is worth at most this long: `exp` no further than the limit from `iat` or from now. */
  private checkLifetime(payload: JWTPayload): void {
    const max = this.settings.maxTokenLifetimeSeconds;
    const exp = payload.exp as number; // required and checked to be a number by jwtVerify
    const now = Date.now() / 1000;
    const lifetime = Math.max(exp - now, typeof payload.iat === 'number' ? exp - payload.iat : 0);
    if (!(lifetime <= max)) throw new ClaimProblem(`it lives longer than ${max} seconds (exp is too far from iat or from now)`);
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

  /** Says what was wrong with the token in one short line, without echoing it or naming hosts. */
  private describe(e: unknown): string {
    if (e instanceof ClaimProblem) return `The token was refused: ${e.message}`;
    if (e instanceof UnacceptedAlgorithm)
      return `The token was refused: it is signed with ${e.alg ?? 'no algorithm'}, which this server does not accept`;
    if (e instanceof errors.JWTExpired) return 'The token has expired';
    if (e instanceof errors.JWTClaimValidationFailed) return `The token was refused: its ${e.claim} claim is missing or not acceptable`;
    if (e instanceof errors.JWSSignatureVerificationFailed) return 'The token was refused: its signature does not verify';
    if (e instanceof errors.JWKSNoMatchingKey) return 'The token was refused: no known key matches its key id';
    if (e instanceof errors.JOSENotSupported) return 'The token was refused: it uses a header or algorithm this server does not support';
    // The key set unreachable or broken is on our side: worth a line in the log (never a stack trace per request).
    if (e instanceof errors.JWKSTimeout || e instanceof errors.JWKSInvalid || !(e instanceof errors.JOSEError)) {
      this.log?.warn(
        { reason: e instanceof Error ? ((e as Error & { code?: string }).code ?? e.name) : typeof e },
        'token verification failed on our side',
      );
      return 'The token could not be verified';
    }
    // Everything else jose refuses (malformed parts, a crit header, a bad claim set) is the token's fault.
    return 'The token was refused: it is not a well-formed JWT';
  }
}

class ClaimProblem extends Error {}
class UnacceptedAlgorithm extends Error {
  constructor(readonly alg: string | undefined) {
    super(`unaccepted algorithm ${alg}`);
  }
}
