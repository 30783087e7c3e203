import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The file in DATA_DIR holding the development HS256 secret (embedded demo store, AUTH_MODE=jwt, no key set). */
export const DEV_SECRET_FILE = 'jwt-dev-secret';

/**
 * The development secret kept in `dataDir`: made once (32 random bytes, hex, readable by its
 * owner only) and read by every later start and by `npm run token`, so a token minted in another
 * terminal verifies. Two processes making it at once agree: the file is created exclusively and
 * the loser reads the winner's.
 */
export function developmentSecret(dataDir: string): { secret: string; file: string } {
  const file = join(dataDir, DEV_SECRET_FILE);
  mkdirSync(dataDir, { recursive: true });
  try {
    writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const secret = readFileSync(file, 'utf8').trim();
  if (secret.length < 32) throw new Error(`${file} holds no usable secret: delete it and a new one is made`);
  return { secret, file };
}
