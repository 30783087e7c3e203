import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeJwt, SignJWT } from 'jose';
import { developmentSecret } from '../util/dev-secret.js';

/**
 * Mints a development token (HS256, signed with AUTH_JWT_SECRET or the development secret in DATA_DIR) for Apollo Sandbox's headers:
 *   npm run -s token -- --scopes "integrity:read integrity:write" --projects retail --sub alice
 * Issuer and audience come from AUTH_ISSUER / AUTH_AUDIENCE when set, as the server checks them.
 */
const KNOWN_SCOPES = ['integrity:read', 'integrity:write', 'integrity:approve', 'integrity:admin', 'integrity:feed'];

const USAGE = `usage: npm run -s token -- --scopes "integrity:read integrity:write" [--projects p1,p2] [--sub NAME] [--expires 8h]
scopes: ${KNOWN_SCOPES.join(' ')} (space- or comma-separated)
--expires: how long the token lives (jose syntax: 30m, 8h, 1d); at most AUTH_MAX_TOKEN_LIFETIME_SECONDS (default 86400)
signs with AUTH_JWT_SECRET (the secret the subgraph verifies with) or, on the embedded store, the development secret in DATA_DIR/jwt-dev-secret`;

/** AUTH_JWT_SECRET, or on the embedded demo store the development secret the subgraph keeps in DATA_DIR. */
function signingSecret(): string {
  if (process.env.AUTH_JWT_SECRET) return process.env.AUTH_JWT_SECRET;
  if (process.env.DATABASE_URL)
    throw new Error('AUTH_JWT_SECRET is not set (the development secret in DATA_DIR serves the embedded store only)');
  return developmentSecret(resolve(process.env.DATA_DIR || './data')).secret;
}

const list = (values: string[] | undefined) => (values ?? []).flatMap((v) => v.split(/[\s,]+/)).filter(Boolean);

try {
  const { values } = parseArgs({
    options: {
      scopes: { type: 'string', multiple: true },
      projects: { type: 'string', multiple: true },
      sub: { type: 'string', default: 'dev' },
      expires: { type: 'string', default: '8h' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const scopes = list(values.scopes);
  if (!scopes.length) throw new Error('give at least one scope with --scopes; no token was made');
  const unknown = scopes.filter((x) => !KNOWN_SCOPES.includes(x));
  // Checked before the secret: a typo must not leave a development secret behind in DATA_DIR.
  if (unknown.length) {
    const named = unknown.map((x) => `"${x}"`).join(', ');
    throw new Error(`unknown scope${unknown.length > 1 ? 's' : ''} ${named} (known: ${KNOWN_SCOPES.join(', ')}); no token was made`);
  }
  const secret = signingSecret();
  if (!values.sub) throw new Error('--sub must not be empty');
  const maxLifetime = Number(process.env.AUTH_MAX_TOKEN_LIFETIME_SECONDS || 86_400);
  const claims: Record<string, unknown> = { scope: scopes.join(' ') };
  if (values.projects) claims[process.env.AUTH_PROJECTS_CLAIM || 'projects'] = list(values.projects);
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(values.sub)
    .setIssuedAt()
    .setExpirationTime(values.expires);
  if (process.env.AUTH_ISSUER) jwt = jwt.setIssuer(process.env.AUTH_ISSUER);
  if (process.env.AUTH_AUDIENCE) jwt = jwt.setAudience(process.env.AUTH_AUDIENCE);
  const token = await jwt.sign(new TextEncoder().encode(secret));
  // The subgraph refuses a token that lives longer than its limit: better to say so here.
  const { exp, iat } = decodeJwt(token);
  if (exp === undefined || iat === undefined || exp <= iat)
    throw new Error(`--expires must be a positive duration such as 8h (got "${values.expires}")`);
  if (exp - iat > maxLifetime)
    throw new Error(`--expires ${values.expires} is longer than ${maxLifetime} seconds (AUTH_MAX_TOKEN_LIFETIME_SECONDS)`);
  process.stdout.write(`${token}\n`);
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
  process.exit(1);
}
