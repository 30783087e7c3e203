import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './fixtures/subgraph-process.js';

/**
 * Every npm command README.md and docs/*.md give (in code blocks and inline code) names a script
 * of package.json, and every script is proven by a test that runs it, or by .ci/run.
 */
interface Proof {
  /** A test file that runs the script, or '.ci/run'. */
  file: string;
  /** What the file must contain to be that proof; default: the script's name. */
  mentions?: string;
}

const PROOF: Record<string, Proof> = {
  start: { file: 'test/signals.test.ts' },
  build: { file: 'test/signals.test.ts', mentions: "'run', 'build'" },
  migrate: { file: 'test/migrations.test.ts' },
  dev: { file: 'test/signals.test.ts' },
  'schema:print': { file: 'test/federation.test.ts' },
  'schema:write': { file: 'test/federation.test.ts' },
  'supergraph:compose': { file: 'test/federation.test.ts' },
  'demo:supergraph': { file: 'test/signals.test.ts' },
  codegen: { file: 'test/codegen.test.ts' },
  typecheck: { file: '.ci/run' },
  test: { file: '.ci/run' },
  'test:sqlite': { file: 'test/test-services.test.ts' },
  bench: { file: 'test/bench-smoke.test.ts' },
  'demo:etl': { file: 'test/demo-etl-nats.test.ts' },
  token: { file: 'test/jwt-walkthrough.test.ts', mentions: 'mint-token' },
  // `node console/build.mjs` is buildConsole(), which the console's API suite builds with.
  'console:build': { file: 'test/console-api.test.ts', mentions: 'buildConsole' },
  // The browser suite with UPDATE_SCREENSHOTS=1: its screenshot() writes the files only then.
  screenshots: { file: 'test/support/browser.ts', mentions: 'UPDATE_SCREENSHOTS' },
  lint: { file: '.ci/run' },
  format: { file: 'test/lint.test.ts' },
  'image:test': { file: '.ci/run' },
  'supergraph:compose:deploy': { file: 'test/compose-file.test.ts' },
};

/** npm's own commands the docs may give; not scripts. */
const NPM_COMMANDS = new Set(['install', 'ci', 'prune']);
/** Scripts npm runs without `run`. */
const RUN_LESS = new Set(['start', 'test']);

const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8');

/** The code of a Markdown text: fenced blocks and inline code spans. */
function codeOf(markdown: string): string[] {
  const code: string[] = [];
  const rest = markdown.replace(/^(```|~~~)[^\n]*\n([\s\S]*?)^\1[ \t]*$/gm, (_, _fence: string, body: string) => {
    code.push(body);
    return '';
  });
  for (const m of rest.matchAll(/(`+)([^`]+?)\1/g)) code.push(m[2]);
  return code;
}

/** The npm commands in `text`: `npm start`, `npm test`, `npm run x`, `npm run -s x`, `npm x`. */
function npmCommands(text: string): Array<{ command: string; script: string; npmOwn: boolean }> {
  const found: Array<{ command: string; script: string; npmOwn: boolean }> = [];
  for (const m of text.matchAll(/(?<![\w-])npm\s+(?:(run(?:-script)?)\s+(?:-s\s+|--silent\s+)?)?([A-Za-z][\w:.-]*)/g)) {
    const [command, run, name] = m;
    if (run) found.push({ command, script: name, npmOwn: false });
    else if (RUN_LESS.has(name)) found.push({ command, script: name, npmOwn: false });
    else found.push({ command, script: name, npmOwn: NPM_COMMANDS.has(name) });
  }
  return found;
}

const documents = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const documented = documents.flatMap((doc) =>
  codeOf(readFileSync(join(ROOT, doc), 'utf8')).flatMap((code) => npmCommands(code).map((c) => ({ ...c, doc }))),
);

/** Whether .ci/run runs `npm run <script>` (or `npm <script>`), itself or through a script it runs. */
function ciRuns(script: string, seen = new Set<string>()): boolean {
  const direct = npmCommands(ci).map((c) => c.script);
  const queue = [...direct];
  while (queue.length) {
    const s = queue.shift()!;
    if (s === script) return true;
    if (seen.has(s) || !scripts[s]) continue;
    seen.add(s);
    queue.push(...npmCommands(scripts[s]).map((c) => c.script));
  }
  return false;
}

describe('the npm commands README.md and docs/ give', () => {
  it('finds the commands (the extraction itself works)', () => {
    const names = new Set(documented.map((c) => c.script));
    for (const s of ['start', 'test', 'dev', 'migrate', 'demo:supergraph', 'token', 'bench', 'test:sqlite']) expect(names).toContain(s);
    expect(npmCommands('npm run -s token -- --scopes x; npm ci; npm start')).toEqual([
      { command: 'npm run -s token', script: 'token', npmOwn: false },
      { command: 'npm ci', script: 'ci', npmOwn: true },
      { command: 'npm start', script: 'start', npmOwn: false },
    ]);
  });

  it('each names a script in package.json (or npm install, ci or prune)', () => {
    const unknown = documented.filter((c) => !c.npmOwn && !(c.script in scripts));
    expect(unknown.map((c) => `${c.doc}: ${c.command}`)).toEqual([]);
  });

  it('every script in package.json is proven by a test that names it, or run by .ci/run', () => {
    const problems: string[] = [];
    for (const script of Object.keys(scripts)) {
      const proof = PROOF[script];
      if (!proof) {
        problems.push(`${script}: no proof listed`);
        continue;
      }
      if (proof.file === '.ci/run') {
        if (!ciRuns(script)) problems.push(`${script}: .ci/run does not run it`);
        continue;
      }
      const path = join(ROOT, proof.file);
      if (!existsSync(path)) {
        problems.push(`${script}: ${proof.file} does not exist`);
        continue;
      }
      const needle = proof.mentions ?? script;
      if (!readFileSync(path, 'utf8').includes(needle)) problems.push(`${script}: ${proof.file} does not mention ${needle}`);
    }
    expect(problems).toEqual([]);
  });

  it('lists no proof for a script that does not exist, and nothing pending that already has one', () => {
    expect(Object.keys(PROOF).filter((s) => !(s in scripts))).toEqual([]);
  });
});
