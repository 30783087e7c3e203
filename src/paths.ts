import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The package root, where schema/ and package.json live: one level above src/ when run from
 * source, two above dist/src/ when run compiled (`npm start`).
 */
export const PACKAGE_ROOT = basename(dirname(here)) === 'dist' ? resolve(here, '../..') : resolve(here, '..');

export const SCHEMA_DIR = join(PACKAGE_ROOT, 'schema');

/** The integrity console's static build (`npm run build`, console/build.mjs). */
export const CONSOLE_DIR = join(PACKAGE_ROOT, 'dist', 'console');
