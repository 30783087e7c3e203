import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, ROOT } from './fixtures/subgraph-process.js';
import { until } from './support/poll.js';

/**
 * What the image ships is dist/, package.json and the production dependencies; this suite holds
 * the compiled server to that. dist/ is copied into a temporary folder beside package.json and a
 * node_modules holding only the packages `npm ci --omit=dev` installs (links into this checkout's),
 * then every command of the image's entrypoint is run from there: nothing it imports may be a
 * devDependency, nothing it reads may live outside that folder (schema/ is not beside it).
 */
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };

const work = mkdtempSync(join(tmpdir(), 'runtime-deps-'));
const app = join(work, 'app');
const dist = join(app, 'dist');
const running: ChildProcess[] = [];

beforeAll(async () => {
  mkdirSync(app, { recursive: true });
  // The test set-up has just built this checkout's dist/ (scripts/start.mjs --build-if-stale): the
  // same output a compile here would give, at no second tsc run. `npm run build` itself is proven in
  // test/signals.test.ts.
  expect(existsSync(join(ROOT, 'dist', 'src', 'main.js'))).toBe(true);
  cpSync(join(ROOT, 'dist'), dist, { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(app, 'package.json'));
  // The top-level packages a production install has (the lock marks the others dev); nested ones come inside them.
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (!path.startsWith('node_modules/') || path.slice('node_modules/'.length).includes('node_modules/') || entry.dev) continue;
    mkdirSync(dirname(join(app, path)), { recursive: true });
    symlinkSync(join(ROOT, path), join(app, path), 'dir');
  }
}, 180_000);

afterAll(async () => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? jsFiles(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : [],
  );
}

/** The package a bare specifier names (`@scope/name/sub` → `@scope/name`), or undefined for relative and built-in ones. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return builtinModules.includes(name) ? undefined : name;
}

/** Every module specifier in compiled JavaScript: static and dynamic imports, re-exports, require and require.resolve. */
function specifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire(?:\.resolve|\(import\.meta\.url\)\.resolve)?\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\.resolve\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const m of source.matchAll(pattern)) found.push(m[1]);
  return found;
}

const cleanEnv = (env: Record<string, string>): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, TMPDIR: tmpdir(), ...env });

/** Runs an entrypoint command from the copy to its end. */
function runCommand(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, ['dist/src/tools/entrypoint.js', ...args], {
    cwd: app,
    env: cleanEnv(env),
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts a long-running entrypoint command from the copy and waits for `ready` on its stdout. */
async function startCommand(args: string[], env: Record<string, string>, ready: RegExp) {
  const child = spawn(process.execPath, ['dist/src/tools/entrypoint.js', ...args], {
    cwd: app,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  await until(
    `${args.join(' ')} to print ${ready}`,
    async () => {
      if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited ${child.exitCode}:\n${out}\n${err}`);
      return ready.test(out);
    },
    60_000,
  );
  return { child, exited, output: () => out + err };
}

async function gql(
  url: string,
  query: string,
  token?: string,
): Promise<{ data?: Record<string, unknown>; errors?: Array<{ extensions?: { code?: string } }> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
  return (await res.json()) as { data?: Record<string, unknown> };
}

describe('the compiled server needs only dist/, package.json and the production dependencies', () => {
  it('every package dist/ imports is a production dependency, and every production dependency is imported by dist/', () => {
    const imported = new Map<string, string>();
    for (const file of jsFiles(dist)) {
      for (const specifier of specifiers(readFileSync(file, 'utf8'))) {
        const name = packageOf(specifier);
        if (name && !imported.has(name)) imported.set(name, relative(dist, file));
      }
    }
    const notProduction = [...imported]
      .filter(([name]) => !(name in pkg.dependencies))
      .map(([name, file]) => `${name} (imported by dist/${file})`);
    expect(notProduction).toEqual([]);
    // The database drivers are imported by our own code too; a dependency nothing in dist/ imports belongs in devDependencies.
    expect(Object.keys(pkg.dependencies).filter((name) => !imported.has(name))).toEqual([]);
  });

  it("the image's runtime stage holds exactly what this suite runs from: dist/, package.json, the production node_modules", () => {
    const containerfile = readFileSync(join(ROOT, 'Containerfile'), 'utf8');
    const runtime = containerfile.slice(containerfile.lastIndexOf('\nFROM '));
    const copies = [...runtime.matchAll(/^COPY\s+(.+)$/gm)].map((m) => m[1].trim());
    expect(copies).toEqual(['--from=prod-deps /app/node_modules ./node_modules', '--from=build /app/dist ./dist', 'package.json ./']);
    expect(containerfile).toMatch(/^FROM deps AS prod-deps\nRUN npm prune --omit=dev/m);
  });

  it('serve, health and SIGTERM: the server runs from the copy (schema, console, demo stores) and stops cleanly', async () => {
    const port = await freePort();
    const env = { NODE_ENV: 'production', DATA_DIR: join(work, 'serve-data'), PORT: String(port), HOST: '127.0.0.1' };
    const server = await startCommand([], env, /Integrity subgraph ready/);
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/health`)).status).toBe(200);
    const answer = await gql(`${base}/graphql`, '{ deploymentIntentGroups(project: "retail") { name owner { entity { name } } } }');
    expect(answer.errors).toBeUndefined();
    expect(answer.data?.deploymentIntentGroups).toContainEqual({
      name: 'prod-east',
      owner: expect.objectContaining({ entity: expect.any(Object) }),
    });
    const consolePage = await fetch(`${base}/console/`);
    expect(consolePage.status).toBe(200);
    expect(await consolePage.text()).toMatch(/<script[^>]+\/console\/assets\/app-/);

    expect(runCommand(['health'], env)).toMatchObject({ status: 0, stdout: 'health: 200\n' });
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.output()).toMatch(/"msg":"stopped"/);
    expect(runCommand(['health'], env).status).toBe(1);
  });

  it('migrate applies the pending migrations and exits; a second run has nothing to do', () => {
    const env = { DATA_DIR: join(work, 'migrate-data') };
    const first = runCommand(['migrate'], env);
    expect(first).toMatchObject({ status: 0, stderr: '' });
    expect(first.stdout).toMatch(/^Applied \d+ migrations? to the embedded store/);
    expect(runCommand(['migrate'], env)).toMatchObject({ status: 0, stdout: expect.stringMatching(/^No pending migrations/) });
  });

  it('token mints a token with the arguments after the command', () => {
    const minted = runCommand(['token', '--scopes', 'integrity:read', '--sub', 'ci'], {
      AUTH_JWT_SECRET: 'runtime-dependencies-secret-0123456789',
    });
    expect(minted.status).toBe(0);
    const token = minted.stdout.trim();
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(claims).toMatchObject({ sub: 'ci', scope: 'integrity:read' });
  });

  it('employees serves the example subgraph on PORT and stops on SIGTERM', async () => {
    const port = await freePort();
    const employees = await startCommand(
      ['employees'],
      { DATA_DIR: join(work, 'employees-data'), PORT: String(port) },
      /employees subgraph ready/,
    );
    const answer = await gql(`http://127.0.0.1:${port}/graphql`, '{ employee(employeeId: "e-1") { employeeId bankAccounts { number } } }');
    expect(answer).toEqual({ data: { employee: { employeeId: 'e-1', bankAccounts: [{ number: 'ACC-1001' }, { number: 'ACC-1002' }] } } });
    employees.child.kill('SIGTERM');
    expect(await employees.exited).toBe(0);
  });

  it('an unknown command exits 2 with the usage', () => {
    const r = runCommand(['serv'], {});
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown command "serv"[\s\S]*migrate/);
  });
});
