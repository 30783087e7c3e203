import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './fixtures/subgraph-process.js';

/**
 * `npm run bench` as docs/benchmarks.md gives it, at a tiny scale (BENCH_SCALE and the iteration
 * settings of bench/lib/options.ts) and on the embedded store only: each benchmark it runs prints
 * its table with its ratio column, and it exits 0 (a failed benchmark or a failed GC check exits 1).
 * The comparison with the federation peer (half a minute of setup even this small) is left to full
 * runs. The change-feed burst uses Redis and NATS. BENCH_RESULTS_DIR keeps bench/results/ untouched.
 */
const results = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
afterAll(() => rmSync(results, { recursive: true, force: true }));

function npmRun(script: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(base)) if (k.startsWith('BENCH_')) delete base[k];
  const child = spawn('npm', ['run', script], { cwd: ROOT, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((res) => child.once('close', (code) => res({ code, stdout, stderr })));
}

describe('npm run bench at a tiny scale', () => {
  it('list, writes, approval, gc, feed and console run, print their tables with ratios, write results where told, exit 0', async () => {
    const run = await npmRun('bench', {
      BENCH_RESULTS_DIR: results,
      BENCH_ONLY: 'list,writes,approval,gc,feed,console',
      BENCH_SCALE: '0.01',
      BENCH_ITERATIONS: '1',
      BENCH_WARMUP: '0',
      BENCH_GROUPS: '20',
      BENCH_EMPLOYEES: '20',
      BENCH_CLOSURE: '10',
    });
    const told = `\n--- stdout ---\n${run.stdout.slice(-4000)}\n--- stderr ---\n${run.stderr.slice(-4000)}`;
    expect(run.code, told).toBe(0);
    expect(run.stdout, told).not.toMatch(/⚠|FAILED/);
    expect(run.stdout).toMatch(/^Run .*Stores: sqlite; BENCH_SCALE=0\.01\./m);
    const sections = run.stdout.split(/^### /m).slice(1);
    const titled = (pattern: RegExp) => sections.find((s) => pattern.test(s.split('\n')[0]));
    for (const [title, pattern] of [
      ['writes', /^100 creates of groups/],
      ['list', /^Listing 20 deployment groups/],
      ['approval', /[Aa]pprov/],
      ['gc', /^Garbage collection of [\d,]+ resources/],
      ['feed', /^A burst of [\d,]+ change events/],
      ['console', /^The integrity console/],
    ] as const) {
      const section = titled(pattern);
      expect(section, `no ${title} section${told}`).toBeDefined();
      // A table row of the embedded store's figures.
      expect(section, `${title}: no sqlite row${told}`).toMatch(/^\| sqlite \|/m);
    }
    // The ratio columns: writes against plain inserts, list against its floor.
    expect(titled(/^100 creates/)).toMatch(/^\| sqlite \| engine\.create \|.*\d+(\.\d+)?× \|$/m);
    expect(titled(/^Listing/)).toMatch(/^\| sqlite \| warm \|.*\d+(\.\d+)?× \|/m);
    expect(titled(/^A burst/)).toMatch(/^\| sqlite \| change feed \(nats\), one replica \|.*\d+(\.\d+)?× \|$/m);
    expect(readdirSync(results).sort()).toEqual(expect.arrayContaining(['latest.json', 'latest.md']));
  }, 180_000);
});
