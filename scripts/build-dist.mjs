// Compiles the server into a dist/ that runs on its own: the JavaScript (tsc -p tsconfig.build.json)
// and the files it reads at run time. `npm run build` and `npm start` (scripts/start.mjs) call it
// on ./dist; the runtime-dependencies test calls it on a temporary dist/.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** TypeScript's compiler, or undefined where only the production dependencies are installed. */
export function findTsc() {
  try {
    return createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    return undefined;
  }
}

/**
 * The shared SDL and the relationship schema (read through dist/src/paths.js) and the example
 * employees subgraph's SDL (read next to its module), copied beside the compiled code: the image
 * ships dist/ without the sources.
 */
export function copyRuntimeFiles(out = join(ROOT, 'dist')) {
  const schemaOut = join(out, 'schema');
  rmSync(schemaOut, { recursive: true, force: true });
  mkdirSync(schemaOut, { recursive: true });
  for (const name of readdirSync(join(ROOT, 'schema'))) {
    if (name.endsWith('.graphql') || name.endsWith('.json')) copyFileSync(join(ROOT, 'schema', name), join(schemaOut, name));
  }
  const employees = join('examples', 'employees-subgraph', 'schema.graphql');
  mkdirSync(dirname(join(out, employees)), { recursive: true });
  copyFileSync(join(ROOT, employees), join(out, employees));
}

/** Compiles into `out` (whose name must be dist: src/paths.ts tells compiled from source by it); returns tsc's exit status. */
export function compileDist(out = join(ROOT, 'dist'), tsc = findTsc()) {
  if (!tsc) throw new Error('TypeScript is not installed (run npm install)');
  const built = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', out], { cwd: ROOT, stdio: 'inherit' });
  if (built.status !== 0) return built.status ?? 1;
  copyRuntimeFiles(out);
  return 0;
}
