import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientTables, insertDemoClientRows } from '../src/remote/client-demo.js';
import { consoleBase, consolePage, launchBrowser, screenshot } from './support/browser.js';
import { codes, startTestServer, type TestServer } from './support/server.js';
import { OPERATIONAL_KINDS, tempClientStore, type TempStore } from './support/stores.js';
import { proxied, type TcpProxy } from './support/tcp-proxy.js';
import { as, jwtEnv, SCOPES } from './support/tokens.js';
import { crmStore, DOCUMENTS } from './support/documents-domain.js';

// The integrity console in headless Chromium against a real server: journeys a person takes,
// asserted on what the page shows (text, counts, the neighbourhood picture's nodes).

const SETUP = `mutation {
  prov: createClusterProvider(input: { name: "prov" }) { id }
  c1: createCluster(input: { provider: "prov", name: "c1", labels: ["gold"] }) { id }
  c2: createCluster(input: { provider: "prov", name: "c2" }) { id }
  p: createProject(input: { name: "shop" }) { id }
  app: createCompositeApp(input: { project: "shop", name: "web" }) { id }
  prof: createCompositeProfile(input: { project: "shop", compositeApp: "web", name: "default" }) { id }
  lc: createLogicalCluster(input: { project: "shop", name: "lc" }) { id }
  g: createDeploymentIntentGroup(input: { project: "shop", compositeApp: "web", compositeProfile: "default", name: "g",
       logicalCluster: "lc", clusters: [{ provider: "prov", name: "c1" }, { provider: "prov", name: "c2" }] }) { id }
}`;

const idsOf = (data: Record<string, unknown>) => Object.fromEntries(Object.entries(data).map(([k, v]) => [k, (v as { id: string }).id]));

/** Confirms the open dialog with its button of this name. */
async function confirm(page: Page, button: string) {
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('button', { name: button, exact: true }).click();
  await dialog.waitFor({ state: 'hidden' });
}

const text = async (page: Page, selector: string) => ((await page.locator(selector).first().textContent()) ?? '').trim();

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

describe.each(OPERATIONAL_KINDS)('the console on %s (AUTH_MODE=none)', (store) => {
  let s: TestServer;
  let ids: Record<string, string>;
  let base: string;
  beforeAll(async () => {
    s = await startTestServer(store, { env: { RETENTION_SECONDS: '0' } });
    ids = idsOf(await s.ok(SETUP));
    base = consoleBase(s.url);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('shows why a marked cluster stays, walks to its referrer, removes the reference, collects it, and it is gone', async () => {
    const { page, foreign, errors } = await consolePage(browser);
    // The kind table finds it by a piece of its natural key.
    await page.goto(`${base}/kinds/Cluster?q=c1`);
    await page.locator('[data-testid=kind-table] tbody tr').first().waitFor();
    expect(await page.locator('[data-testid=kind-table] tbody th').allTextContents()).toEqual(['prov/c1']);
    await page.getByRole('link', { name: 'prov/c1' }).click();
    await page.getByRole('heading', { level: 1, name: /prov\/c1/ }).waitFor();
    // The picture: its provider above, the group that refers to it.
    await page.locator(`[data-testid=graph] [data-node="${ids.g}"]`).waitFor();
    expect(await page.locator(`[data-testid=graph] [data-node="${ids.prov}"]`).count()).toBe(1);

    await page.getByRole('button', { name: 'Mark for deletion' }).click();
    await confirm(page, 'Mark for deletion');
    const why = page.locator('section.explanation');
    await why.getByRole('heading', { name: 'Why it is not deleted yet' }).waitFor();
    const referrer = why.locator('li[data-reason=REFERENCED]');
    expect(await referrer.count()).toBe(1);
    expect(await referrer.textContent()).toContain('shop/web/default/g');
    expect(await referrer.textContent()).toContain('clusters[0]');
    expect(await why.locator('li[data-reason=RETENTION]').count()).toBe(0);
    if (store === 'sqlite') await screenshot(page, 'resource-explanation');

    // Overview: one marked, none collectable yet.
    await page.getByRole('link', { name: 'Integrity console' }).click();
    await page.locator('[data-testid=marked]').waitFor();
    expect(await text(page, '[data-testid=marked]')).toBe('1');
    expect(await text(page, '[data-testid=collectable]')).toBe('0');
    expect(await page.locator('[data-testid=queue]').textContent()).toContain('referenced');
    await page.goBack();

    // Follow the link to the referrer and remove the reference there.
    await why.getByRole('link', { name: /shop\/web\/default\/g/ }).click();
    await page.getByRole('heading', { level: 1, name: /shop\/web\/default\/g/ }).waitFor();
    const out = page.locator('li[data-path="clusters[0]"]');
    expect(await out.textContent()).toContain('prov/c1');
    expect(await out.textContent()).toContain('marked');
    await page.getByRole('button', { name: 'Remove reference clusters[0]' }).click();
    await confirm(page, 'Remove reference');
    await page.waitForFunction(() => document.querySelector('li[data-path="clusters[0]"]')?.textContent?.includes('prov/c2'));
    expect(await page.locator('li[data-path="clusters[1]"]').count()).toBe(0);
    expect(await page.locator('[data-testid=history] > li').count()).toBe(2);
    expect(await page.locator('[data-testid=history] > li').first().textContent()).toContain('clusters[1]');
    if (store === 'sqlite') await screenshot(page, 'referrer');
    // Just after the first version began (the input has milliseconds, the store microseconds; the browser runs in UTC).
    const [, v1] = (await s.ok(`query($id: ID!) { resource(id: $id) { history(first: 2) { validFrom } } }`, { id: ids.g })).resource
      .history;
    await page.getByLabel('As of (your local time)').fill(new Date(Date.parse(v1.validFrom) + 1).toISOString().slice(0, 23));
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await page.locator('[data-testid=asof]').waitFor();
    expect(await page.locator('[data-testid=asof]').textContent()).toContain('version 1');
    expect(await page.locator('[data-testid=asof] pre').textContent()).toContain('"c1"');

    // The collection: the dry run says the cluster goes and the logical cluster (marked meanwhile, still referenced) stays and why; the real run deletes the cluster.
    await s.ok(`mutation($id: ID!) { markForDeletion(id: $id) { resource { id } } }`, { id: ids.lc });
    await page.getByRole('link', { name: 'Integrity console' }).click();
    await page.locator('[data-testid=collectable]').waitFor();
    expect(await text(page, '[data-testid=marked]')).toBe('2');
    expect(await text(page, '[data-testid=collectable]')).toBe('1');
    await page.getByRole('button', { name: 'Dry run' }).click();
    await page.locator('[data-testid=gc-dry-run]').waitFor();
    expect(await text(page, '[data-testid=gc-dry-run] [data-testid=gc-deleted-count]')).toBe('1');
    expect(await page.locator('[data-testid=gc-goes]').textContent()).toContain('prov/c1');
    const stays = page.locator('[data-testid=gc-stays] > li');
    expect(await stays.count()).toBe(1);
    expect(await stays.textContent()).toContain('shop/lc');
    expect(await stays.locator('li[data-reason=REFERENCED]').textContent()).toContain('logicalCluster');
    if (store === 'sqlite') await screenshot(page, 'gc-dry-run');
    await page.getByRole('button', { name: 'Run collection' }).click();
    await confirm(page, 'Run collection');
    await page.locator('[data-testid=gc-run]').waitFor();
    expect(await text(page, '[data-testid=gc-run] [data-testid=gc-deleted-count]')).toBe('1');
    await page.waitForFunction(() => document.querySelector('[data-testid=marked]')?.textContent === '1');

    await page.goto(`${base}/resources/${ids.c1}`);
    await page.locator('[data-testid=gone]').waitFor();
    expect((await s.ok(`query($id: ID!) { resource(id: $id) { id } }`, { id: ids.c1 })).resource).toBeNull();
    expect(foreign).toEqual([]);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('fits a phone (390 px) and is used with the keyboard', async () => {
    const { page, errors } = await consolePage(browser, { width: 390, height: 844 });
    await page.goto(`${base}/resources/${ids.g}`);
    await page.getByRole('heading', { level: 1, name: /shop\/web\/default\/g/ }).waitFor();
    await page.locator('[data-testid=graph] a.node').first().waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    if (store === 'sqlite') await screenshot(page, 'phone-resource');

    // Tab to the parent's node in the picture and open it with Enter.
    await page.goto(`${base}/resources/${ids.g}`);
    await page.locator(`[data-testid=graph] [data-node="${ids.prof}"]`).waitFor();
    let reached = false;
    for (let i = 0; i < 60 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate((id) => document.activeElement?.getAttribute('data-node') === id, ids.prof);
    }
    expect(reached).toBe(true);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: /shop\/web\/default/ }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/console/resources/${ids.prof}`);
    expect(errors).toEqual([]);
    await page.context().close();
  });
});

describe('approvals in the console (AUTH_MODE=jwt, token field, introspection off as in production)', () => {
  let s: TestServer;
  let ids: Record<string, string>;
  let admin: Record<string, string>;
  beforeAll(async () => {
    s = await startTestServer('sqlite', { env: { ...jwtEnv(), INTROSPECTION: 'false' } });
    admin = await as('admin', SCOPES);
    ids = idsOf(await s.ok(SETUP, {}, admin));
    // The console must work where production puts it: without introspection.
    const introspection = await s.gql(`{ __schema { queryType { name } } }`, {}, admin);
    expect(codes(introspection)).toEqual(['BAD_USER_INPUT']);
    expect(introspection.errors?.[0]?.message).toContain('INTROSPECTION=true');
  });
  afterAll(async () => {
    await s?.close();
  });

  const useToken = async (page: Page, header: Record<string, string>) => {
    await page.getByLabel('Token').fill(header.authorization);
    await page.getByRole('button', { name: 'Use token' }).click();
  };

  it('asks for a token, then approves, shows the approval stale with the difference once a pinned cluster changes, approves again and revokes', async () => {
    const { page, foreign, errors } = await consolePage(browser);
    await page.goto(`${base(s)}/resources/${ids.g}`);
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('UNAUTHENTICATED');

    await useToken(page, admin);
    await page.getByRole('heading', { level: 1, name: /shop\/web\/default\/g/ }).waitFor();
    await page.getByRole('button', { name: 'Approve', exact: true }).click();
    await confirm(page, 'Approve');
    await page.locator('[data-testid=current]').waitFor();
    expect(page.url()).toContain('/console/approvals/');
    const pins = page.locator('[data-testid=pins] > li');
    expect(await pins.count()).toBeGreaterThanOrEqual(6);
    expect(await text(page, '[data-testid=changed-count]')).toBe('0');

    await s.ok(`mutation($id: ID!) { updateCluster(id: $id, input: { labels: ["gold", "gpu"] }) { version } }`, { id: ids.c1 }, admin);
    await page.reload();
    await page.locator('[data-testid=stale]').waitFor();
    expect(await text(page, '[data-testid=changed-count]')).toBe('1');
    const changed = page.locator(`[data-pin="${ids.c1}"]`);
    expect(await changed.textContent()).toContain('pinned at version 1, now version 2');
    expect(await changed.locator('[data-testid=diff]').textContent()).toContain('labels[1]');
    expect(await changed.locator('[data-testid=diff] ins').textContent()).toBe('gpu');
    await screenshot(page, 'approval-stale');

    const stale = page.url();
    await page.getByRole('button', { name: 'Approve again' }).click();
    await confirm(page, 'Approve again');
    await page.waitForURL((u) => u.toString() !== stale);
    await page.locator('[data-testid=current]').waitFor();
    await page.getByRole('button', { name: 'Revoke' }).click();
    await confirm(page, 'Revoke');
    await page.getByText('revoked', { exact: true }).waitFor();
    expect(foreign).toEqual([]);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('shows a reader no actions', async () => {
    const { page } = await consolePage(browser);
    await page.goto(`${base(s)}/resources/${ids.c2}`);
    await useToken(page, await as('reader', ['integrity:read']));
    await page.getByRole('heading', { level: 1, name: /prov\/c2/ }).waitFor();
    expect(await page.getByRole('button', { name: 'Mark for deletion' }).count()).toBe(0);
    await page.goto(`${base(s)}`);
    await page.locator('[data-testid=total]').waitFor();
    expect(await page.getByRole('button', { name: 'Dry run' }).count()).toBe(0);
    await page.context().close();
  });

  const base = (server: TestServer) => consoleBase(server.url);
});

describe('remote cache health in the console when the client store stops', () => {
  let s: TestServer;
  let client: TempStore;
  let proxy: TcpProxy;
  let group: string;
  beforeAll(async () => {
    client = await tempClientStore('mariadb');
    await createClientTables(client.url);
    await insertDemoClientRows(client.url);
    const routed = await proxied(client.url);
    proxy = routed.proxy;
    s = await startTestServer('sqlite', { env: { CLIENT_DATABASE_URL: routed.url, REMOTE_BREAKER_THRESHOLD: '1' } });
    const r = await s.ok(`mutation {
      p: createProject(input: { name: "shop" }) { id }
      app: createCompositeApp(input: { project: "shop", name: "web" }) { id }
      prof: createCompositeProfile(input: { project: "shop", compositeApp: "web", name: "default" }) { id }
      g: createDeploymentIntentGroup(input: { project: "shop", compositeApp: "web", compositeProfile: "default", name: "g", owner: { employeeId: "e-1" } }) { id }
    }`);
    group = (r.g as { id: string }).id;
  });
  afterAll(async () => {
    await s?.close();
    await proxy?.cut();
    await client?.drop();
  });

  it('turns from fresh to missing and failing, with the breaker open', async () => {
    const { page } = await consolePage(browser);
    await page.goto(consoleBase(s.url));
    const employee = page.locator('[data-testid=remote-cache] tr[data-type=Employee]');
    await employee.waitFor();
    // fresh, deleted, missing, failing
    expect((await employee.locator('td').allTextContents()).slice(0, 4).map((c) => c.trim())).toEqual(['1', '0', '0', '0']);
    expect(await page.locator('[data-testid=sources]').textContent()).toContain('breaker closed');

    await proxy.cut();
    // A change event evicts the cached copy; the next read must go to the stopped store.
    await s.ok(`mutation { applyRemoteChanges(events: [{ entityType: "Employee", key: { employeeId: "e-1" }, op: UPSERT }]) { evicted } }`);
    await page.goto(`${consoleBase(s.url)}/resources/${group}`);
    const owner = page.locator('li[data-path=owner]');
    await owner.waitFor();
    expect(await owner.textContent()).toContain('MISSING');
    expect(await page.locator('[data-testid=graph] .node.tone-missing').count()).toBe(1);

    await page.goto(consoleBase(s.url));
    await employee.waitFor();
    expect((await employee.locator('td').allTextContents()).slice(0, 4).map((c) => c.trim())).toEqual(['0', '0', '1', '1']);
    expect(await page.locator('[data-testid=sources]').textContent()).toContain('breaker open');
    await screenshot(page, 'cache-health');
    await page.context().close();
  });
});

describe('the console over another relationship schema (documents, no code change)', () => {
  let s: TestServer;
  let crm: TempStore;
  let ids: Record<string, string>;
  beforeAll(async () => {
    crm = await crmStore();
    s = await startTestServer('sqlite', { env: { RELATIONSHIP_SCHEMA: DOCUMENTS, CRM_DATABASE_URL: crm.url, RETENTION_SECONDS: '0' } });
    ids = idsOf(
      await s.ok(`mutation {
        w: createWorkspace(input: { name: "acme", title: "Acme team", customer: { customerId: "c-1" } }) { id }
        legal: createCategory(input: { name: "legal", label: "Legal" }) { id }
        f: createFolder(input: { workspace: "acme", name: "docs" }) { id }
        t: createTemplate(input: { workspace: "acme", name: "letter", body: "Dear {name}" }) { id }
        d1: createDocument(input: { workspace: "acme", folder: "docs", name: "d1", title: "Contract", template: "letter", categories: ["legal"], reviewer: { customerId: "c-2" } }) { id }
        d2: createDocument(input: { workspace: "acme", folder: "docs", name: "d2", related: [{ folder: "docs", name: "d1" }] }) { id }
        n1: createNote(input: { workspace: "acme", folder: "docs", document: "d1", name: "n1", text: "private" }) { id }
      }`),
    );
  });
  afterAll(async () => {
    await s?.close();
    await crm?.drop();
  });

  it("counts its kinds, lists a kind, draws a document's neighbourhood, explains its mark and removes the reference that holds it", async () => {
    const { page, foreign, errors } = await consolePage(browser);
    const base = consoleBase(s.url);
    await page.goto(base);
    await page.locator('[data-testid=total]').waitFor();
    expect(await text(page, '[data-testid=total]')).toBe('7');
    const counts = async (kind: string) =>
      (await page.locator(`[data-testid=kind-counts] tr[data-kind=${kind}] td`).allTextContents()).map((c) => c.trim());
    expect(await counts('Document')).toEqual(['2', '0']);
    expect(await counts('Workspace')).toEqual(['1', '0']);

    await page.locator('[data-testid=kind-counts]').getByRole('link', { name: 'Document', exact: true }).click();
    await page.locator('[data-testid=kind-table] tbody tr').first().waitFor();
    expect(await page.locator('[data-testid=kind-table] tbody th').allTextContents()).toEqual(['acme/docs/d1', 'acme/docs/d2']);
    await page.getByRole('link', { name: 'acme/docs/d1' }).click();
    await page.getByRole('heading', { level: 1, name: /acme\/docs\/d1/ }).waitFor();

    // Parents up to the workspace, the note below, what it refers to, the referrer, the remote reviewer.
    const graph = page.locator('[data-testid=graph]');
    await graph.locator(`[data-node="${ids.w}"]`).waitFor();
    const nodeNames = (await graph.locator('.node .node-title').allTextContents()).sort();
    expect(nodeNames).toEqual(['acme', 'c-2', 'd1', 'd2', 'docs', 'legal', 'letter', 'n1']);
    expect(await graph.locator('.node.tone-fresh').count()).toBe(1);
    expect(await page.locator('nav.crumbs').textContent()).toContain('acme › docs ›');
    expect(await page.locator('li[data-path=reviewer]').textContent()).toContain('FRESH');
    // An approvable kind offers approval; its folder does not.
    expect(await page.getByRole('button', { name: 'Approve', exact: true }).count()).toBe(1);

    await page.getByRole('button', { name: 'Mark for deletion' }).click();
    await confirm(page, 'Mark for deletion');
    const why = page.locator('section.explanation');
    await why.getByRole('heading', { name: 'Why it is not deleted yet' }).waitFor();
    const referrer = why.locator('li[data-reason=REFERENCED]');
    expect(await referrer.count()).toBe(1);
    expect(await referrer.textContent()).toContain('acme/docs/d2');
    expect(await referrer.textContent()).toContain('related[0]');
    await screenshot(page, 'second-domain-explanation');

    await why.getByRole('link', { name: /acme\/docs\/d2/ }).click();
    await page.getByRole('heading', { level: 1, name: /acme\/docs\/d2/ }).waitFor();
    await page.getByRole('button', { name: 'Remove reference related[0]' }).click();
    await confirm(page, 'Remove reference');
    await page.waitForFunction(
      () =>
        document.querySelector('li[data-path="related[0]"]') === null &&
        document.querySelectorAll('[data-testid=history] > li').length === 2,
    );
    const { document } = await s.ok(`{ document(workspace: "acme", folder: "docs", name: "d2") { version related(first: 5) { name } } }`);
    expect(document).toEqual({ version: 2, related: [] });
    // Nothing refers to the marked document any more: its explanation says so.
    await page.goto(`${base}/resources/${ids.d1}`);
    await why.getByRole('heading', { name: 'Why it is not deleted yet' }).waitFor();
    expect(await why.locator('li[data-reason=REFERENCED]').count()).toBe(0);

    // Three parents: more than one request reads (the chain goes on from the highest one read).
    await page.goto(`${base}/resources/${ids.n1}`);
    await page.getByRole('heading', { level: 1, name: /acme\/docs\/d1\/n1/ }).waitFor();
    await page.waitForFunction(() => document.querySelector('nav.crumbs')?.textContent?.includes('acme › docs › d1 ›'));
    expect(await page.locator(`[data-testid=graph] [data-node="${ids.w}"]`).count()).toBe(1);

    await page.goto(`${base}/resources/${ids.f}`);
    await page.getByRole('heading', { level: 1, name: /acme\/docs/ }).waitFor();
    expect(await page.getByRole('button', { name: 'Approve', exact: true }).count()).toBe(0);
    expect(foreign).toEqual([]);
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
