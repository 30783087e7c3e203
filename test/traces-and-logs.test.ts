import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, spawnSubgraph } from './fixtures/subgraph-process.js';
import { tempMysql, type TempStore } from './support/stores.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
}

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string };
}

/** An OTLP/HTTP (JSON) trace receiver on loopback: what a collector would get. */
async function otlpReceiver(): Promise<{ url: string; spans: OtlpSpan[]; resources: Set<string>; server: Server }> {
  const spans: OtlpSpan[] = [];
  const resources = new Set<string>();
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const payload = JSON.parse(body) as {
          resourceSpans: { resource?: { attributes?: OtlpAttribute[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
        };
        for (const rs of payload.resourceSpans) {
          // Every string attribute of every resource, as `key=value`.
          for (const a of rs.resource?.attributes ?? [])
            if (a.value.stringValue !== undefined) resources.add(`${a.key}=${a.value.stringValue}`);
          for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, resources, server };
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/**
 * The real process on MariaDB with a password, traces exported to a loopback receiver, JSON logs
 * on stdout: each request is one access-log line with its trace id, the caller's traceparent is
 * continued, SQL and remote calls are child spans, leases stay out of the info log, and neither
 * the database password nor a bearer token is ever written.
 */
describe('traces and the access log of the real process', () => {
  let db: TempStore;
  let dataDir: string;
  const user = `i12u_${hex(3)}`;
  const password = `pw-${hex(8)}`;
  beforeAll(async () => {
    db = await tempMysql('otel');
    const root = await mysql.createConnection(db.url);
    try {
      const name = new URL(db.url).pathname.slice(1);
      await root.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
      await root.query(`GRANT ALL ON \`${name}\`.* TO '${user}'@'%'`);
    } finally {
      await root.end();
    }
    dataDir = mkdtempSync(join(tmpdir(), 'otel-'));
  });
  afterAll(async () => {
    const root = await mysql.createConnection(db.url);
    await root.query(`DROP USER IF EXISTS '${user}'@'%'`).finally(() => root.end());
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("exports a span per operation under the caller's trace, with SQL and remote children; logs one line per request", async () => {
    const receiver = await otlpReceiver();
    const url = new URL(db.url);
    url.username = user;
    url.password = password;
    const port = await freePort();
    const proc = spawnSubgraph({
      DATABASE_URL: url.toString(),
      DATA_DIR: dataDir,
      SEED_DEMO: 'true',
      AUTH_MODE: 'none',
      PORT: String(port),
      GC_INTERVAL_SECONDS: '1',
      LOG_LEVEL: 'info',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_SERVICE_NAME: 'integrity-under-test',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=otel-test',
    });
    const token = `tok-${hex(8)}`;
    const calls = [
      { trace: hex(16), parent: hex(8), query: 'query ListProjects { projects { name } }' },
      { trace: hex(16), parent: hex(8), query: 'query Staff { employees(first: 2) { employeeId } }' },
    ];
    try {
      const [, endpoint] = await proc.waitForStdout(/Open Apollo Sandbox: (\S+)/, 60_000);
      for (const c of calls) {
        const res = await fetch(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json', traceparent: `00-${c.trace}-${c.parent}-01`, authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: c.query }),
        });
        expect(res.status).toBe(200);
        expect(((await res.json()) as { errors?: unknown }).errors).toBeUndefined();
      }
      // A periodic maintenance run has taken and freed its lease meanwhile.
      await proc.waitForStdout(/"msg":"maintenance run"/, 30_000);
      process.kill(proc.child.pid!, 'SIGTERM');
      expect(await proc.waitForExit(30_000)).toEqual({ code: 0, signal: null });
    } finally {
      await proc.kill();
      await new Promise((r) => receiver.server.close(r));
    }

    // Logs: one access line per request, with operation, duration, outcome and the trace id.
    const lines = proc
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const access = lines.filter((l) => l.msg === 'request');
    expect(access.map((l) => [l.operation, l.outcome, l.status, l.traceId])).toEqual([
      ['ListProjects', 'ok', 200, calls[0].trace],
      ['Staff', 'ok', 200, calls[1].trace],
    ]);
    for (const l of access) expect(typeof l.durationMs).toBe('number');
    expect(lines.filter((l) => (l.level as number) >= 30 && /lease/i.test(String(l.msg)))).toEqual([]);
    const everything = proc.stdout() + proc.stderr();
    expect(everything).not.toContain(password);
    expect(everything).not.toContain(token);

    // Traces: the caller's trace continues into a server span, with SQL and remote child spans.
    const { spans } = receiver;
    // The resource: the service name and OTEL_RESOURCE_ATTRIBUTES.
    const resource = [...receiver.resources];
    expect(resource.filter((a) => a.startsWith('service.name='))).toEqual(['service.name=integrity-under-test']);
    expect(resource).toContain('deployment.environment.name=otel-test');
    const server = (trace: string) => spans.find((s) => s.traceId === trace && s.kind === 2);
    const list = server(calls[0].trace);
    expect(list).toMatchObject({ name: 'graphql query ListProjects', parentSpanId: calls[0].parent });
    const sql = spans.filter((s) => s.traceId === calls[0].trace && s.name.startsWith('db '));
    expect(sql.length).toBeGreaterThan(0);
    expect(sql.every((s) => s.parentSpanId === list!.spanId)).toBe(true);
    const staff = server(calls[1].trace);
    expect(staff).toMatchObject({ name: 'graphql query Staff', parentSpanId: calls[1].parent });
    expect(
      spans.filter((s) => s.traceId === calls[1].trace && s.name === 'remote client' && s.parentSpanId === staff!.spanId),
    ).toHaveLength(1);
  });
});
