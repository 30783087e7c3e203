import { Redis } from 'ioredis';
import { connect } from 'nats';
import { DEMO_EMPLOYEES, insertDemoClientRows, queryClientSql, type DemoEmployee } from '../remote/client-demo.js';

/**
 * The client's daily ETL, as a demo: reloads the `employee` table the way such a job does
 * (changes some rows, deletes about half, re-inserts some of those, and brings back the demo rows
 * an earlier run deleted) and publishes the matching
 * Debezium change events to the change feed, so the subgraph's statuses change and heal.
 */

export type EtlAction = 'changed' | 'deleted' | 'reinserted' | 'kept';

export interface EtlReport {
  actions: Map<string, EtlAction>;
  /** Events published (0 without a feed). */
  published: number;
  /** The JetStream stream this run created because it was missing, with its subjects. */
  createdStream?: { name: string; subjects: string[] };
}

export interface EtlOptions {
  clientUrl: string;
  /** nats://host:port/STREAM or redis://host:port/KEY; without it the store is only reloaded. */
  feedUrl?: string;
  /** Chooses what happens to each row (tests pass a fixed one); Math.random by default. */
  random?: () => number;
}

interface Change {
  op: 'u' | 'd' | 'c';
  before: DemoEmployee | null;
  after: DemoEmployee | null;
  tsMs: number;
}

const columns = (e: DemoEmployee) => ({ employee_id: e.employeeId, name: e.name, email: e.email, department: e.department });

const DEPARTMENTS = ['Engineering', 'Architecture', 'Operations', 'Networking', 'Finance', 'Security', 'Research'];

export async function runEtl(options: EtlOptions): Promise<EtlReport> {
  const random = options.random ?? Math.random;
  // Before the store changes: a feed that cannot take the events must not leave a reload without them.
  const createdStream = options.feedUrl?.startsWith('nats:') ? await ensureNatsStream(options.feedUrl) : undefined;
  const [rows] = await queryClientSql(options.clientUrl, [
    { sql: 'SELECT employee_id, name, email, department FROM employee ORDER BY employee_id' },
  ]);
  const employees: DemoEmployee[] = rows.map((r) => ({
    employeeId: String(r.employee_id),
    name: String(r.name),
    email: r.email === null ? null : String(r.email),
    department: r.department === null ? null : String(r.department),
  }));
  const actions = new Map<string, EtlAction>();
  const changes: Change[] = [];
  // Each statement is committed before its event is stamped: an event never claims to precede its row.
  const stamp = () => Date.now();
  // Demo employees an earlier run deleted come back, so the demo can be run day after day.
  const present = new Set(employees.map((e) => e.employeeId));
  for (const e of DEMO_EMPLOYEES.filter((d) => !present.has(d.employeeId))) {
    await insertDemoClientRows(options.clientUrl, { employees: [e] });
    changes.push({ op: 'c', before: null, after: e, tsMs: stamp() });
    actions.set(e.employeeId, 'reinserted');
  }
  for (const e of employees) {
    const roll = random();
    if (roll < 0.5) {
      await queryClientSql(options.clientUrl, [{ sql: 'DELETE FROM employee WHERE employee_id = ?', params: [e.employeeId] }]);
      changes.push({ op: 'd', before: e, after: null, tsMs: stamp() });
      if (roll < 0.25) {
        await insertDemoClientRows(options.clientUrl, { employees: [e] });
        changes.push({ op: 'c', before: null, after: e, tsMs: stamp() });
        actions.set(e.employeeId, 'reinserted');
      } else {
        actions.set(e.employeeId, 'deleted');
      }
    } else if (roll < 0.75) {
      // A move to the next department (a change every run, never the same value).
      const department = DEPARTMENTS[(DEPARTMENTS.indexOf(e.department ?? '') + 1) % DEPARTMENTS.length];
      const after = { ...e, department, email: e.email ?? `${e.employeeId}@example.com` };
      await queryClientSql(options.clientUrl, [
        {
          sql: 'UPDATE employee SET department = ?, email = ? WHERE employee_id = ?',
          params: [after.department, after.email, e.employeeId],
        },
      ]);
      changes.push({ op: 'u', before: e, after, tsMs: stamp() });
      actions.set(e.employeeId, 'changed');
    } else {
      actions.set(e.employeeId, 'kept');
    }
  }
  const published = options.feedUrl ? await publish(options.feedUrl, changes.map(toDebezium)) : 0;
  return { actions, published, ...(createdStream ? { createdStream } : {}) };
}

let binlogPosition = 4;
function toDebezium(c: Change) {
  return {
    schema: { type: 'struct', name: 'client.employee.Envelope' },
    payload: {
      op: c.op,
      before: c.before ? columns(c.before) : null,
      after: c.after ? columns(c.after) : null,
      source: {
        connector: 'demo-etl',
        db: 'client',
        table: 'employee',
        ts_ms: c.tsMs,
        file: 'demo-etl.000001',
        pos: binlogPosition++,
        row: 0,
      },
      ts_ms: Date.now(),
    },
  };
}

/** Subjects of a stream the demo creates: `<STREAM>.>`; the ETL publishes on `<STREAM>.client.employee`. */
export const demoStreamSubjects = (stream: string) => [`${stream}.>`];

function natsConnection(url: URL) {
  return connect({
    servers: `${url.hostname}:${url.port || '4222'}`,
    user: url.username ? decodeURIComponent(url.username) : undefined,
    pass: url.password ? decodeURIComponent(url.password) : undefined,
  });
}

/** Creates the JetStream stream CHANGE_FEED_URL names when it is missing; answers what it created. */
async function ensureNatsStream(feedUrl: string): Promise<{ name: string; subjects: string[] } | undefined> {
  const url = new URL(feedUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\/+/, ''));
  const nc = await natsConnection(url);
  try {
    const jsm = await nc.jetstreamManager();
    try {
      await jsm.streams.info(name);
      return undefined;
    } catch (e) {
      if (!/stream not found/i.test((e as Error).message)) throw e;
    }
    const subjects = demoStreamSubjects(name);
    await jsm.streams.add({ name, subjects });
    return { name, subjects };
  } finally {
    await nc.close();
  }
}

async function publish(feedUrl: string, events: unknown[]): Promise<number> {
  const url = new URL(feedUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\/+/, ''));
  if (url.protocol === 'nats:') {
    const nc = await natsConnection(url);
    try {
      const info = await (await nc.jetstreamManager()).streams.info(name);
      const subject = subjectIn(info.config.subjects ?? [name]);
      const js = nc.jetstream();
      for (const e of events) await js.publish(subject, JSON.stringify(e));
    } finally {
      await nc.close();
    }
    return events.length;
  }
  if (url.protocol === 'redis:' || url.protocol === 'rediss:') {
    const redis = new Redis({
      host: url.hostname || '127.0.0.1',
      port: Number(url.port || 6379),
      username: url.username ? decodeURIComponent(url.username) : undefined,
      password: url.password ? decodeURIComponent(url.password) : undefined,
      db: Number(url.searchParams.get('db') ?? 0),
      tls: url.protocol === 'rediss:' ? {} : undefined,
    });
    try {
      for (const e of events) await redis.xadd(name, '*', 'value', JSON.stringify(e));
    } finally {
      await redis.quit();
    }
    return events.length;
  }
  throw new Error('CHANGE_FEED_URL must be nats://host:port/STREAM or redis://host:port/KEY');
}

/** A concrete subject the stream takes: its first subject, wildcards filled in. */
function subjectIn(subjects: string[]): string {
  const first = subjects[0];
  return first.replace(/>$/, 'client.employee').replace(/\*/g, 'employee');
}
