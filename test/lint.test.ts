import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './fixtures/subgraph-process.js';

/**
 * `npm run lint` and `npm run format` as a contributor runs them, on a scratch project with this
 * repository's scripts and Biome settings (the repository itself is linted by .ci/run).
 */
const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const dir = mkdtempSync(join(tmpdir(), 'lint-'));
writeFileSync(
  join(dir, 'package.json'),
  JSON.stringify({ name: 'scratch', private: true, scripts: { lint: scripts.lint, format: scripts.format } }),
);
copyFileSync(join(ROOT, 'biome.jsonc'), join(dir, 'biome.jsonc'));
writeFileSync(join(dir, '.gitignore'), 'node_modules/\n');
symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const npm = (script: string) => {
  const r = spawnSync('npm', ['run', '-s', script], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
};

describe('npm run lint / npm run format', () => {
  it('lint refuses a file the formatter would change; format rewrites it and lint passes; a rule no formatter fixes stays an error', () => {
    const file = join(dir, 'sample.ts');
    writeFileSync(file, 'const table = {a:1, "b": 2}\nexport const values = Object.keys(table).map((k) => { return k })\n');
    const before = npm('lint');
    expect(before.code).not.toBe(0);
    expect(before.out).toMatch(/format/i);

    expect(npm('format').code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(
      'const table = { a: 1, b: 2 };\nexport const values = Object.keys(table).map((k) => {\n  return k;\n});\n',
    );
    expect(npm('lint')).toMatchObject({ code: 0 });

    // What no formatter can fix stays an error, named by its rule.
    writeFileSync(file, 'export function f(x: number) {\n  let y;\n  y = x;\n  return y;\n}\n');
    const rule = npm('lint');
    expect(rule.code).not.toBe(0);
    expect(rule.out).toContain('noImplicitAnyLet');
  });
});
