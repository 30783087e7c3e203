import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSubgraph, type SubgraphProcess } from './fixtures/subgraph-process.js';

/** `CHANGE_FEED_URL=nats://…/STREAM npm run demo:etl` on a server without that stream, as the README says. */
const NATS_HOST = process.env.TEST_NATS_HOST ?? '127.0.0.1:4222';

describe('npm run demo:etl on NATS', () => {
  const stream = `etl_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'etl-nats-'));
  const procs: SubgraphProcess[] = [];
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill()));
    rmSync(dir, { recursive: true, force: true });
    const nc = await connect({ servers: NATS_HOST });
    await (await nc.jetstreamManager()).streams.delete(stream).catch(() => undefined);
    await nc.close();
  });

  it('creates the missing stream (subjects STREAM.>) before it changes the store, and publishes every event into it', async () => {
    const etl = spawnSubgraph({ DATA_DIR: dir, CHANGE_FEED_URL: `nats://${NATS_HOST}/${stream}` }, 'demo:etl');
    procs.push(etl);
    expect(await etl.waitForExit(60_000), etl.stderr()).toEqual({ code: 0, signal: null });
    expect(etl.stdout()).toContain(`Created the JetStream stream ${stream} (subjects ${stream}.>)`);
    const published = Number(etl.stdout().match(/Published (\d+) change events/)?.[1]);
    expect(published).toBeGreaterThan(0);
    const nc = await connect({ servers: NATS_HOST });
    try {
      const info = await (await nc.jetstreamManager()).streams.info(stream);
      expect(info.config.subjects).toEqual([`${stream}.>`]);
      expect(info.state.messages).toBe(published);
    } finally {
      await nc.close();
    }
  });
});
