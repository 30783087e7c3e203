import { tmpdir } from 'node:os';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildConsole } from '../../console/build.mjs';
import { PACKAGE_ROOT } from '../../src/paths.js';

/**
 * Headless Chromium (Debian's package, installed by .ci/run; no browser download) driving the
 * console a real server serves. The console is built once per process before the first launch.
 */

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/**
 * Where the journeys leave their screenshots: the README's pictures in docs/screenshots when
 * UPDATE_SCREENSHOTS=1 (`npm run screenshots`), else a temporary folder, so a test run leaves the
 * work tree as it found it.
 */
export const SCREENSHOTS =
  process.env.UPDATE_SCREENSHOTS === '1' ? join(PACKAGE_ROOT, 'docs', 'screenshots') : join(tmpdir(), 'integrity-console-screenshots');

let built: Promise<unknown> | undefined;

export async function launchBrowser(): Promise<Browser> {
  built ??= buildConsole();
  await built;
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/** The console's base URL on a test server (its GraphQL URL without /graphql). */
export const consoleBase = (graphqlUrl: string) => graphqlUrl.replace(/\/graphql$/, '/console');

/** A page that fails the test on any script error, and records requests to other origins. */
export async function consolePage(
  browser: Browser,
  viewport = { width: 1280, height: 800 },
): Promise<{ page: Page; foreign: string[]; errors: string[] }> {
  const context = await browser.newContext({ viewport, timezoneId: 'UTC' });
  const page = await context.newPage();
  const foreign: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.hostname !== '127.0.0.1' && url.protocol !== 'data:') foreign.push(r.url());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, foreign, errors };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
