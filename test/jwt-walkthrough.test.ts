import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, spawnSubgraph, type SubgraphProcess } from './fixtures/subgraph-process.js';

/**
 * The README's walkthrough as written: `AUTH_MODE=jwt npm start` in one terminal (embedded demo
 * store, no key set), `npm run -s token -- --scopes …` in another, the token in Sandbox's headers.
 * The terminals share no environment, only the data directory.
 */
const dirs: string[] = [];
const procs: SubgraphProcess[] = [];
afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** `npm run -s token -- ARGS` from a terminal of its own: no AUTH_* settings, the given ones only. */
function mintToken(env: Record<string, string>, ...args: string[]) {
  const base = { ...process.env };
  for (const k of Object.keys(base)) if (/^(AUTH_|DATABASE_URL|DATA_DIR)/.test(k)) delete base[k];
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/tools/mint-token.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...base, ...env },
  });
}

async function ask(url: string, token?: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query: '{ project(name: "retail") { name } }' }),
  });
  return (await res.json()) as { data?: unknown; errors?: Array<{ extensions?: { code?: string } }> };
}

async function startJwt(dataDir: string): Promise<{ proc: SubgraphProcess; url: string }> {
  const proc = spawnSubgraph({ AUTH_MODE: 'jwt', DATA_DIR: dataDir, PORT: '0', GC_INTERVAL_SECONDS: '0' });
  procs.push(proc);
  const [, url] = await proc.waitForStdout(/Open Apollo Sandbox: (\S+)/, 60_000);
  return { proc, url };
}

describe('the JWT walkthrough on the embedded demo store', () => {
  it('AUTH_MODE=jwt with no key keeps a development secret in DATA_DIR (0600); npm run token in another terminal signs with it; a restart keeps it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'jwt-walk-'));
    dirs.push(dataDir);
    const first = await startJwt(dataDir);
    expect(statSync(join(dataDir, 'jwt-dev-secret')).mode & 0o777).toBe(0o600);

    expect((await ask(first.url)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const minted = mintToken({ DATA_DIR: dataDir }, '--scopes', 'integrity:read', '--projects', 'retail', '--sub', 'alice');
    expect(minted.status, minted.stderr).toBe(0);
    const token = minted.stdout.trim();
    expect(await ask(first.url, token)).toEqual({ data: { project: { name: 'retail' } } });

    first.proc.child.kill('SIGTERM');
    expect(await first.proc.waitForExit(20_000)).toEqual({ code: 0, signal: null });
    const second = await startJwt(dataDir);
    expect(await ask(second.url, token)).toEqual({ data: { project: { name: 'retail' } } });
  });

  it('npm run token before the first start makes the same file the subgraph then verifies with', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'jwt-walk-'));
    dirs.push(dataDir);
    const minted = mintToken({ DATA_DIR: dataDir }, '--scopes', 'integrity:read');
    expect(minted.status, minted.stderr).toBe(0);
    const { url } = await startJwt(dataDir);
    expect(await ask(url, minted.stdout.trim())).toEqual({ data: { project: { name: 'retail' } } });
  });

  it('off the embedded store, npm run token without AUTH_JWT_SECRET refuses and says why; a misspelled scope is refused, naming the known scopes, and no token is made', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'jwt-walk-'));
    dirs.push(dataDir);
    const off = mintToken({ DATA_DIR: dataDir, DATABASE_URL: `sqlite:${join(dataDir, 'op.sqlite')}` }, '--scopes', 'integrity:read');
    expect(off.status).toBe(1);
    expect(off.stderr).toMatch(/^AUTH_JWT_SECRET is not set/);
    const fresh = mkdtempSync(join(tmpdir(), 'jwt-walk-'));
    dirs.push(fresh);
    const typo = mintToken({ DATA_DIR: fresh }, '--scopes', 'integrity:read integrity:raed');
    expect(typo.status).toBe(1);
    expect(typo.stdout).toBe('');
    expect(typo.stderr.split('\n')[0]).toBe(
      'unknown scope "integrity:raed" (known: integrity:read, integrity:write, integrity:approve, integrity:admin, integrity:feed); no token was made',
    );
    // Refused before anything was written: no development secret appears in the data directory.
    expect(readdirSync(fresh)).toEqual([]);
  });
});
