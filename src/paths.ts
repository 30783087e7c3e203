import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Compiled, this file is dist/src/paths.js: dist/ then holds everything read at run time (the image ships dist/ alone). */
const COMPILED = basename(dirname(here)) === 'dist';
const DIST = COMPILED ? resolve(here, '..') : undefined;

/**
 * The package root, where package.json lives: one level above src/ when run from source, two
 * above dist/src/ when run compiled. Nothing read at run time is looked up here when compiled.
 */
export const PACKAGE_ROOT = DIST ? resolve(DIST, '..') : resolve(here, '..');

/** The shared SDL files and the relationship schema: schema/ in a checkout, dist/schema (copied by `npm run build`) compiled. */
export const SCHEMA_DIR = join(DIST ?? PACKAGE_ROOT, 'schema');

/** The integrity console's static build (`npm run build`, console/build.mjs). */
export const CONSOLE_DIR = join(DIST ?? join(PACKAGE_ROOT, 'dist'), 'console');
