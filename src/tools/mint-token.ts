import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';

/**
 * Mints a development token (HS256, signed with AUTH_JWT_SECRET) for Apollo Sandbox's headers:
 *   npm run -s token -- --scopes "integrity:read integrity:write" --projects retail --sub alice
 * Issuer and audience come from AUTH_ISSUER / AUTH_AUDIENCE when set, as the server checks them.
 */
const USAGE = `usage: npm run -s token -- --scopes "integrity:read integrity:write" [--projects p1,p2] [--sub NAME] [--expires 8h]
scopes: integrity:read integrity:write integrity:approve integrity:admin integrity:feed (space- or comma-separated)
needs AUTH_JWT_SECRET in the environment (the same secret the subgraph verifies with)`;

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
  const secret = process.env.AUTH_JWT_SECRET;
  if (!secret) throw new Error('AUTH_JWT_SECRET is not set');
  const scopes = list(values.scopes);
  if (!scopes.length) throw new Error('give at least one scope with --scopes');
  const claims: Record<string, unknown> = { scope: scopes.join(' ') };
  if (values.projects) claims[process.env.AUTH_PROJECTS_CLAIM || 'projects'] = list(values.projects);
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(values.sub).setIssuedAt().setExpirationTime(values.expires);
  if (process.env.AUTH_ISSUER) jwt = jwt.setIssuer(process.env.AUTH_ISSUER);
  if (process.env.AUTH_AUDIENCE) jwt = jwt.setAudience(process.env.AUTH_AUDIENCE);
  process.stdout.write(`${await jwt.sign(new TextEncoder().encode(secret))}\n`);
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
  process.exit(1);
}
