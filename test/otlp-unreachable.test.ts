import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, spawnSubgraph, type SubgraphProcess } from './fixtures/subgraph-process.js';

/**
 * An OTLP collector that is down or hangs: said once in the log (not per batch), and a stop
 * waits for the last traces at most the stated bound (2 s), well inside SHUTDOWN_TIMEOUT_MS.
 */
const FAILING = /the OTLP collector does not take traces/g;
const QUERY = JSON.stringify({ query: '{ projects(first: 1) { name } }' });

describe('an unreachable OTLP collector', () => {
  const dirs: string[] = [];
  const procs: SubgraphProcess[] = [];
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill()));
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function start(endpoint: string, extra: Record<string, string> = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'otlp-'));
    dirs.push(dir);
    const proc = spawnSubgraph({
      DATA_DIR: dir,
      PORT: '0',
      GC_INTERVAL_SECONDS: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      ...extra,
    });
    procs.push(proc);
    const [, url] = await proc.waitForStdout(/Open Apollo Sandbox: (\S+)/, 60_000);
    const ask = async () =>
      expect((await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: QUERY })).status).toBe(200);
    return { proc, ask };
  }

  it('a collector that refuses connections is logged once, however many batches fail; the process stops with exit 0', async () => {
    const { proc, ask } = await start(`http://127.0.0.1:${await freePort()}`, { OTEL_BSP_SCHEDULE_DELAY: '50' });
    await ask();
    await proc.waitForStdout(FAILING, 30_000);
    for (let i = 0; i < 3; i++) await ask();
    proc.child.kill('SIGTERM');
    expect(await proc.waitForExit(30_000)).toEqual({ code: 0, signal: null });
    expect(proc.stdout().match(FAILING)).toHaveLength(1);
  });

  it('a collector that takes the connection and never answers does not hold the stop: exit 0 within SHUTDOWN_TIMEOUT_MS, the dropped traces said', async () => {
    const hole = createServer((socket) => sockets.push(socket));
    servers.push(hole);
    const port = await freePort();
    await new Promise<void>((r) => hole.listen(port, '127.0.0.1', () => r()));
    // The exporter's own timeout (10 s) is past SHUTDOWN_TIMEOUT_MS: only the bound lets the stop end cleanly.
    const { proc, ask } = await start(`http://127.0.0.1:${port}`, { SHUTDOWN_TIMEOUT_MS: '5000' });
    await ask();
    proc.child.kill('SIGTERM');
    expect(await proc.waitForExit(30_000)).toEqual({ code: 0, signal: null });
    expect(proc.stdout()).toMatch(/the last traces did not reach the OTLP collector in time: dropped/);
  });
});
