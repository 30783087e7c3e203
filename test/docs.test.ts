import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ApolloServerErrorCode } from '@apollo/server/errors';
import { describe, expect, it } from 'vitest';
import { loadRelationshipSchema } from '../src/model/load.js';
import { buildSchema } from '../src/server/schema.js';
import { ROOT } from './fixtures/subgraph-process.js';

/**
 * The documentation against the code it describes, so that a new error code, operation or
 * setting without docs fails here, and so does a doc naming what the code no longer has. Every
 * expected set is derived from the sources, never written out in this file.
 */

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Every .ts file under `dir` (relative to the root), generated code left out. */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (abs: string) => {
    for (const name of readdirSync(abs)) {
      const path = join(abs, name);
      if (statSync(path).isDirectory()) {
        if (name !== '__generated__') walk(path);
      } else if (name.endsWith('.ts')) out.push(relative(ROOT, path));
    }
  };
  walk(join(ROOT, dir));
  return out;
}

/** The text of a markdown file with fenced code blocks blanked (their lines kept, so line counts hold). */
function withoutFences(text: string): string {
  let fenced = false;
  return text
    .split('\n')
    .map((line) => {
      if (/^\s*(```|~~~)/.test(line)) {
        fenced = !fenced;
        return '';
      }
      return fenced ? '' : line;
    })
    .join('\n');
}

/** The lines of one `## heading` section, up to the next heading of that level or above. */
function section(markdown: string, heading: string): string {
  const lines = withoutFences(markdown).split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  if (start < 0) throw new Error(`no "## ${heading}" section`);
  const end = lines.findIndex((l, i) => i > start && /^#{1,2} /.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** The cells of every body row of the markdown tables in `text` (each table's header and separator left out). */
function tableRows(text: string): string[][] {
  const rows: string[][] = [];
  let inTable = 0;
  for (const line of text.split('\n')) {
    inTable = line.trim().startsWith('|') ? inTable + 1 : 0;
    // Line 1 of a table is its header, line 2 the separator.
    if (inTable > 2)
      rows.push(
        line
          .trim()
          .replace(/^\||\|$/g, '')
          .split(/(?<!\\)\|/)
          .map((c) => c.trim()),
      );
  }
  return rows;
}

const backticked = (cell: string, pattern: RegExp) => [...cell.matchAll(new RegExp(`\`(${pattern.source})\``, 'g'))].map((m) => m[1]);

// --- error codes -----------------------------------------------------------------------------

const CODE = /[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{4,}/;

/** The balanced argument text of each call `name(…)` in `text`, strings and comments skipped for parentheses. */
function callArguments(text: string, name: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(new RegExp(`\\b${name}\\(`, 'g'))) {
    let depth = 1;
    let i = m.index + m[0].length;
    const start = i;
    for (let quote = ''; i < text.length && depth > 0; i++) {
      const c = text[i];
      if (quote) {
        if (c === '\\') i++;
        else if (c === quote) quote = '';
      } else if (c === "'" || c === '"' || c === '`') quote = c;
      else if (c === '(') depth++;
      else if (c === ')') depth--;
    }
    out.push(text.slice(start, i - 1));
  }
  return out;
}

/**
 * Every `extensions.code` the API can answer, read from the sources: the contract's codes (the
 * `ErrorCode` union every DomainError takes), every literal given as a `code` (GraphQL errors,
 * refusals, the execution budget, scalars), every code of the JSON bodies answered outside
 * GraphQL (`body(message, code)`), and Apollo Server's own codes that `formatError` passes on
 * (those it does not turn into BAD_USER_INPUT; PERSISTED_QUERY_NOT_SUPPORTED only when persisted
 * queries are turned off).
 */
function codesTheSourceReturns(): Map<string, string> {
  const found = new Map<string, string>();
  const add = (code: string, where: string) => {
    if (!found.has(code)) found.set(code, where);
  };
  const union = /export type ErrorCode\s*=([^;]*);/.exec(read('src/engine/errors.ts'));
  if (!union) throw new Error('src/engine/errors.ts no longer declares the ErrorCode union');
  for (const m of union[1].matchAll(/'([A-Z_]+)'/g)) add(m[1], 'src/engine/errors.ts (ErrorCode)');

  for (const file of [...sourceFiles('src'), ...sourceFiles('resolvers')]) {
    const text = read(file);
    // `code: 'X'`, `code: 'X' as const`, and the type `code: 'A' | 'B'` of a refusal's shape.
    for (const m of text.matchAll(/\bcode\??\s*:\s*((?:'[A-Z0-9_]+'\s*(?:as const)?\s*\|?\s*)+)/g)) {
      for (const literal of m[1].matchAll(/'([A-Z0-9_]+)'/g)) add(literal[1], file);
    }
    // Answers outside GraphQL: a file's `body(message, code)` helper.
    if (/const body = \(message: string, code: string\)/.test(text)) {
      for (const args of callArguments(text, 'body')) {
        for (const literal of args.matchAll(new RegExp(`'(${CODE.source})'`, 'g'))) add(literal[1], file);
      }
    }
  }

  const errors = read('src/server/errors.ts');
  const callerFaults = /const CALLER_FAULTS = new Set\(\[([^\]]*)\]\)/.exec(errors);
  if (!callerFaults) throw new Error('src/server/errors.ts no longer has CALLER_FAULTS: say here which Apollo codes reach callers');
  const mapped = new Set([...callerFaults[1].matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]));
  const persistedQueriesOff = /persistedQueries:\s*false/.test(read('src/server/http.ts'));
  for (const code of Object.values(ApolloServerErrorCode)) {
    if (mapped.has(code)) continue;
    if (code === ApolloServerErrorCode.PERSISTED_QUERY_NOT_SUPPORTED && !persistedQueriesOff) continue;
    if (code === ApolloServerErrorCode.PERSISTED_QUERY_NOT_FOUND && persistedQueriesOff) continue;
    add(code, '@apollo/server, passed on by src/server/errors.ts');
  }
  return found;
}

/** The error-code table of docs/api.md: code → [HTTP, meaning, what to do]. */
function documentedCodes(): Map<string, string[]> {
  const rows = tableRows(section(read('docs/api.md'), 'Error codes'));
  return new Map(rows.map((cells) => [backticked(cells[0], CODE)[0] ?? cells[0], cells.slice(1)]));
}

describe('docs/api.md', () => {
  it('has one row for every error code the source can return, and none it cannot', () => {
    const source = codesTheSourceReturns();
    // The contract's own codes are there: the scan reads what it should.
    for (const code of ['NOT_FOUND', 'MAINTENANCE_BUSY', 'STORE_UNAVAILABLE', 'INTERNAL_SERVER_ERROR'])
      expect(source.has(code), code).toBe(true);
    const documented = documentedCodes();
    const missing = [...source.keys()].filter((c) => !documented.has(c)).map((c) => `${c} (from ${source.get(c)})`);
    expect(missing, 'codes the source returns that docs/api.md does not list').toEqual([]);
    expect(
      [...documented.keys()].filter((c) => !source.has(c)),
      'codes docs/api.md lists that the source never returns',
    ).toEqual([]);
  });

  it('says for every code what it means and what the caller should do', () => {
    for (const [code, cells] of documentedCodes()) {
      expect(cells.length, code).toBe(3);
      for (const cell of cells) expect(cell.length, `${code}: an empty cell`).toBeGreaterThan(1);
    }
  });

  it('documents every Query and Mutation field of the schema the subgraph serves', () => {
    const schema = buildSchema(loadRelationshipSchema());
    const fields = [schema.getQueryType(), schema.getMutationType()].flatMap((t) => Object.keys(t?.getFields() ?? {}));
    expect(fields).toContain('markForDeletion');
    expect(fields).toContain('_entities');
    const api = read('docs/api.md');
    const undocumented = fields.filter((f) => !new RegExp(`\`${f}[\`( ]`).test(api));
    expect(undocumented, 'root fields docs/api.md does not name (as `field` or `field(…)`)').toEqual([]);
  });
});

// --- settings --------------------------------------------------------------------------------

/** Test and benchmark support that lives under src/: its settings are the contributor's (docs/contributing.md). */
const TEST_SUPPORT = ['src/tools/temp-stores.ts'];
const ENV_NAME = /[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*/;

/** Environment variables a file reads: `env.X`, `process.env.X`, `env['X']`, and helpers called as `f(env, 'X', …)`. */
function envReads(text: string): string[] {
  const names = [
    ...text.matchAll(new RegExp(`\\benv\\.(${ENV_NAME.source})\\b`, 'g')),
    ...text.matchAll(new RegExp(`\\benv\\[['"](${ENV_NAME.source})['"]\\]`, 'g')),
    ...text.matchAll(new RegExp(`\\(\\s*env\\s*,\\s*'(${ENV_NAME.source})'`, 'g')),
  ].map((m) => m[1]);
  return names;
}

/** What the server and its tools read from the environment, and the variables the relationship schema names (`urlEnv`). */
function settingsTheCodeReads(): Set<string> {
  const names = new Set<string>();
  for (const file of sourceFiles('src')) if (!TEST_SUPPORT.includes(file)) for (const n of envReads(read(file))) names.add(n);
  for (const source of loadRelationshipSchema().sources.values()) if (source.urlEnv) names.add(source.urlEnv);
  return names;
}

describe('docs/operations.md', () => {
  it('settings table names every setting the code reads, and nothing else', () => {
    const code = settingsTheCodeReads();
    // src/config.ts alone reads more than fifty: the scan sees it.
    expect(code.size).toBeGreaterThan(50);
    for (const name of ['PORT', 'DATABASE_URL', 'MIGRATIONS', 'REMOTE_TIMEOUT_MS', 'OTEL_EXPORTER_OTLP_ENDPOINT'])
      expect(code.has(name), name).toBe(true);
    const table = new Set(tableRows(section(read('docs/operations.md'), 'Settings')).flatMap((cells) => backticked(cells[0], ENV_NAME)));
    expect([...code].filter((n) => !table.has(n)).sort(), 'settings the code reads that the table leaves out').toEqual([]);
    expect([...table].filter((n) => !code.has(n)).sort(), 'settings the table names that the code does not read').toEqual([]);
  });

  it('docs/contributing.md names every setting the test set-up reads', () => {
    const files = ['test/support/global-setup.ts', 'test/support/browser.ts', ...TEST_SUPPORT];
    const names = new Set(files.flatMap((f) => envReads(read(f))));
    expect(names.has('TEST_DB_PREFIX')).toBe(true);
    const contributing = read('docs/contributing.md');
    expect([...names].filter((n) => !contributing.includes(`\`${n}\``) && !contributing.includes(`${n}=`)).sort()).toEqual([]);
  });
});

// --- links, anchors, length ------------------------------------------------------------------

const DOCS = [
  'README.md',
  'CHANGELOG.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** GitHub's heading anchors: lower case, punctuation dropped, each space a hyphen, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const m of withoutFences(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const text = m[1].replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n ? `${slug}-${n}` : slug);
  }
  return anchors;
}

/** Every link and image target of a markdown file outside code (fenced or inline). */
function linksOf(markdown: string): string[] {
  const text = withoutFences(markdown).replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]);
}

describe('README.md and docs/', () => {
  it('every relative link and anchor resolves', () => {
    const broken: string[] = [];
    let followed = 0;
    for (const doc of DOCS) {
      for (const link of linksOf(read(doc))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto:
        const [path, anchor] = link.split('#', 2) as [string, string | undefined];
        const target = path ? relative(ROOT, resolve(dirname(join(ROOT, doc)), decodeURIComponent(path))) : doc;
        if (!existsSync(join(ROOT, target))) {
          broken.push(`${doc}: ${link} (no ${target})`);
          continue;
        }
        followed++;
        if (anchor !== undefined) {
          if (!target.endsWith('.md')) broken.push(`${doc}: ${link} (an anchor into a file that is not markdown)`);
          else if (!anchorsOf(read(target)).has(anchor)) broken.push(`${doc}: ${link} (no heading #${anchor} in ${target})`);
        }
      }
    }
    expect(followed).toBeGreaterThan(30);
    expect(broken).toEqual([]);
  });

  it('README.md is a first screen: at most 150 lines, linking every page of docs/', () => {
    const readme = read('README.md');
    expect(readme.replace(/\n+$/, '').split('\n').length).toBeLessThanOrEqual(150);
    const pages = DOCS.filter((d) => d.startsWith('docs/'));
    expect(pages.filter((p) => !readme.includes(`](${p}`))).toEqual([]);
  });

  it('no doc points at the design files a clone does not have', () => {
    expect(DOCS.filter((d) => /\.\.\/shared\b|\/work\/shared|shared\/(design|runtime-contract|api-contract)/.test(read(d)))).toEqual([]);
  });
});

// --- version and licence ---------------------------------------------------------------------

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

describe('version and licence', () => {
  const pkg = JSON.parse(read('package.json')) as { version: string; license?: string };

  it("package.json's version is semver and the changelog's newest release", () => {
    expect(pkg.version).toMatch(SEMVER);
    const releases = [...read('CHANGELOG.md').matchAll(/^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?/gm)]
      .map((m) => ({ version: m[1], date: m[2] }))
      .filter((r) => r.version.toLowerCase() !== 'unreleased');
    expect(releases.length).toBeGreaterThan(0);
    expect(releases[0].version).toBe(pkg.version);
    for (const r of releases) {
      expect(r.version, 'a release heading').toMatch(SEMVER);
      expect(r.date, `${r.version} has no date (## [x.y.z] - YYYY-MM-DD)`).toBeDefined();
    }
  });

  it('is Apache-2.0 in package.json and in LICENSE', () => {
    expect(pkg.license).toBe('Apache-2.0');
    const licence = read('LICENSE');
    expect(licence).toContain('Apache License');
    expect(licence).toContain('Version 2.0, January 2004');
    expect(licence).toContain('END OF TERMS AND CONDITIONS');
  });
});
