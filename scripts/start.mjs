// `npm start`: builds the compiled JavaScript (dist/) when it is missing or older than the
// sources, then runs it in this same process. npm's `sh -c` execs a plain `node …` command, so
// this process is the one SIGTERM and SIGINT reach, and the server drains and exits 0 on them.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileDist, findTsc } from './build-dist.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'src', 'main.js');
const SOURCES = ['src', 'resolvers', 'schema', 'examples/employees-subgraph', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];

/** The newest modification time under `path` (a file or a directory tree). */
function newest(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const name of readdirSync(path)) max = Math.max(max, newest(join(path, name)));
  return max;
}

function stale() {
  // A dist/ from before the runtime files were copied into it is stale too.
  if (!existsSync(entry) || !existsSync(join(root, 'dist', 'schema', 'relationships.json'))) return true;
  const built = statSync(entry).mtimeMs;
  return SOURCES.some((p) => existsSync(join(root, p)) && newest(join(root, p)) > built);
}

// --build: build everything and stop; --build-if-stale: build what is stale and stop (the test set-up's, so
// that suites starting the server from several workers at once never rebuild dist/ under each other).
const force = process.argv.includes('--build');
const buildOnly = force || process.argv.includes('--build-if-stale');

if (force || stale()) {
  const tsc = findTsc();
  if (!tsc) {
    if (!existsSync(entry)) {
      process.stderr.write('Cannot start: dist/ is missing and TypeScript is not installed to build it (run npm install)\n');
      process.exit(1);
    }
  } else {
    process.stdout.write('Building dist/ (tsc -p tsconfig.build.json)…\n');
    const status = compileDist(join(root, 'dist'), tsc);
    if (status !== 0) process.exit(status);
  }
}

// The integrity console (console/ → dist/console): built when missing or older than its sources.
// Its libraries are devDependencies: without them a missing console is reported, not fatal.
const consoleIndex = join(root, 'dist', 'console', 'index.html');
const consoleStale = () => !existsSync(consoleIndex) || newest(join(root, 'console')) > statSync(consoleIndex).mtimeMs;
if (existsSync(join(root, 'console')) && (force || consoleStale())) {
  try {
    const { buildConsole } = await import(pathToFileURL(join(root, 'console', 'build.mjs')).href);
    const { out, bytes } = await buildConsole();
    process.stdout.write(`Built the console into ${out} (${(bytes / 1024).toFixed(1)} KiB)\n`);
  } catch (e) {
    if (force) throw e;
    process.stderr.write(`The console could not be built (${e instanceof Error ? e.message : e}); /console will say so\n`);
  }
}

if (!buildOnly) {
  process.env.NODE_ENV ??= 'production';
  await import(pathToFileURL(entry).href);
}
