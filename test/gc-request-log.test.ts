import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { OPERATIONAL_KINDS } from './support/stores.js';
import { startTestServer, type TestServer } from './support/server.js';

/** The request log's `statements` of a garbage collection asked for through the API counts the statements it ran. */
describe.each(OPERATIONAL_KINDS)('request log of a garbage collection on %s', (kind) => {
  const lines: Array<Record<string, unknown>> = [];
  let s: TestServer;
  afterAll(async () => s?.close());

  it('statements is the number of statements the collection sent to the store', async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    s = await startTestServer(kind, { seedDemo: true, env: { RETENTION_SECONDS: '0' }, log: pino({ level: 'info' }, sink) });
    const { projects } = await s.ok<{ projects: Array<{ id: string }> }>('{ projects(first: 1) { id } }');
    await s.ok('mutation Mark($id: ID!) { markForDeletion(id: $id) { __typename } }', { id: projects[0]!.id });
    const { res, statements } = await s.countedGql<{ collectGarbage: { deleted: string[] } }>(
      'mutation Collect { collectGarbage { deleted } }',
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.collectGarbage.deleted.length).toBeGreaterThan(0);
    const logged = lines.find((l) => l.msg === 'request' && l.operation === 'Collect');
    expect(logged?.statements).toBe(statements.length);
    expect(statements.length).toBeGreaterThan(0);
  });
});
