// Builds the integrity console into dist/console: one hashed script and one hashed stylesheet
// (esbuild, minified, everything bundled: the page loads nothing from elsewhere) and an
// index.html that names them. `npm run build` and `npm start` (when it is missing or older than
// console/) call it; tests call buildConsole().
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const CONSOLE_OUT = resolve(here, '..', 'dist', 'console');

export async function buildConsole(out = CONSOLE_OUT) {
  const { build } = await import('esbuild');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'assets'), { recursive: true });
  const result = await build({
    entryPoints: [join(here, 'src', 'main.tsx')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: join(out, 'assets'),
    entryNames: 'app-[hash]',
    assetNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => p.split('/').pop());
  const script = outputs.find((f) => f.endsWith('.js'));
  const style = outputs.find((f) => f.endsWith('.css'));
  const html = readFileSync(join(here, 'index.html'), 'utf8')
    .replace('%SCRIPT%', `/console/assets/${script}`)
    .replace('%STYLE%', style ? `/console/assets/${style}` : '');
  writeFileSync(join(out, 'index.html'), html);
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  return { out, script, style, bytes };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { out, bytes } = await buildConsole();
  process.stdout.write(`Built the console into ${out} (${(bytes / 1024).toFixed(1)} KiB before compression)\n`);
}
