import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { chromium } from 'playwright-core';
import { buildConsole } from '../console/build.mjs';
import { startBenchApp } from './lib/app.js';
import { progress, type BenchOptions } from './lib/options.js';
import { median, percentile } from './lib/stats.js';
import { benchStores, type StoreKind } from './lib/stores.js';

/**
 * Issue 19, item 4: the integrity console's first render on the demo data, in the same headless
 * Chromium the tests drive. Each sample is a fresh browser context (no cache): the time from
 * navigation start until the view shows what it loaded (the overview's counts; a resource page's
 * neighbourhood picture), read with performance.now() in the page. Also the bundle's size.
 */

export interface ConsoleRow {
  view: string;
  medianMs: number;
  p95Ms: number;
  samples: number;
}

export interface ConsoleResult {
  store: StoreKind;
  rows: ConsoleRow[];
  bundle: { files: number; bytes: number; gzipBytes: number };
}

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

async function firstRender(browser: Browser, url: string, ready: string): Promise<number> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(url, { waitUntil: 'commit' });
  const handle = await page.waitForFunction((sel) => (document.querySelector(sel) ? performance.now() : 0), ready, { polling: 'raf' });
  const ms = (await handle.jsonValue()) as number;
  await context.close();
  return ms;
}

export async function runConsoleBench(store: StoreKind, options: BenchOptions): Promise<ConsoleResult> {
  const built = await buildConsole();
  const assets = join(built.out, 'assets');
  const files = readdirSync(assets).map((f) => readFileSync(join(assets, f)));
  const bundle = {
    files: files.length,
    bytes: files.reduce((n, f) => n + f.length, 0),
    gzipBytes: files.reduce((n, f) => n + gzipSync(f).length, 0),
  };

  const { op, client, stops } = await benchStores(store, { mysqlUrl: options.mysqlUrl, employees: options.employees });
  const app = await startBenchApp(op.url, client.url, { SEED_DEMO: 'true' });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  try {
    const base = app.app.url.replace(/\/graphql$/, '/console');
    const { deploymentIntentGroup: dig } = await app.ok<{ deploymentIntentGroup: { id: string } }>(
      `{ deploymentIntentGroup(project: "retail", compositeApp: "storefront", compositeProfile: "default", name: "prod-east") { id } }`,
    );
    const views: [string, string, string][] = [
      ['overview', base, '[data-testid=total]'],
      ['resource (retail/storefront/default/prod-east)', `${base}/resources/${dig.id}`, '[data-testid=graph] a.node'],
    ];
    const rows: ConsoleRow[] = [];
    for (const [view, url, ready] of views) {
      for (let i = 0; i < options.warmup; i++) await firstRender(browser, url, ready);
      const samples: number[] = [];
      for (let i = 0; i < options.iterations; i++) samples.push(await firstRender(browser, url, ready));
      samples.sort((a, b) => a - b);
      rows.push({ view, medianMs: median(samples), p95Ms: percentile(samples, 95), samples: samples.length });
      progress(`console/${store}: ${view} median ${median(samples).toFixed(0)} ms`);
    }
    return { store, rows, bundle };
  } finally {
    await browser.close();
    await app.stop();
    for (const stop of stops) await stop();
  }
}
