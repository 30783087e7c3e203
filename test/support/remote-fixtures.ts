/**
 * Shared set-up for the remote-reference tests: the store combinations, a small demo domain to
 * hang remote references on, counters for remote queries, and a bounded polling helper.
 */
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { CLIENT_KINDS, OPERATIONAL_KINDS, type ClientKind, type OperationalKind } from './stores.js';
import type { TestServer } from './server.js';

/** Every operational store × every client store. */
export const STORE_COMBOS: [OperationalKind, ClientKind][] = OPERATIONAL_KINDS.flatMap((op) =>
  CLIENT_KINDS.map((client): [OperationalKind, ClientKind] => [op, client]),
);

/** No background revalidation sweep: it would refill evicted rows while a test counts remote queries. */
export const QUIET_ENV: Record<string, string> = { REVALIDATE_INTERVAL_SECONDS: '0' };

/** Lower-case hex MD5, computed here independently of the code under test. */
export const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** The names every test domain uses. */
export const DOMAIN = { project: 'rp', app: 'shop', profile: 'default', lc: 'lc', provider: 'prov' } as const;

/** Creates project `rp` with app, profile, logical cluster, and provider `prov` with clusters c1, c2. */
export async function createDomain(s: TestServer, project: string = DOMAIN.project): Promise<void> {
  await s.ok(`mutation {
    p: createProject(input: { name: "${project}" }) { id }
    a: createCompositeApp(input: { project: "${project}", name: "${DOMAIN.app}" }) { id }
    b: createCompositeProfile(input: { project: "${project}", compositeApp: "${DOMAIN.app}", name: "${DOMAIN.profile}" }) { id }
    l: createLogicalCluster(input: { project: "${project}", name: "${DOMAIN.lc}" }) { id }
  }`);
  const { clusterProvider } = await s.ok(`{ clusterProvider(name: "${DOMAIN.provider}") { id } }`);
  if (!clusterProvider) {
    await s.ok(`mutation {
      p: createClusterProvider(input: { name: "${DOMAIN.provider}" }) { id }
      c1: createCluster(input: { provider: "${DOMAIN.provider}", name: "c1" }) { id }
      c2: createCluster(input: { provider: "${DOMAIN.provider}", name: "c2" }) { id }
    }`);
  }
}

/** The input of a group in the test domain, as GraphQL literal text. */
export function groupInput(name: string, extra = '', project: string = DOMAIN.project): string {
  return `{ project: "${project}", compositeApp: "${DOMAIN.app}", compositeProfile: "${DOMAIN.profile}", name: "${name}"${extra ? `, ${extra}` : ''} }`;
}

/**
 * Creates groups in one mutation document (aliases run one after the other), each with the
 * logical cluster, both clusters and the owner `owners[i]`. Returns the groups' ids in order.
 */
export async function createGroups(
  s: TestServer,
  names: string[],
  owners: (string | null)[],
  project: string = DOMAIN.project,
): Promise<string[]> {
  const out: string[] = [];
  // 50 creates per request: within the default alias and token limits of one operation.
  for (let start = 0; start < names.length; start += 50) {
    const fields = names.slice(start, start + 50).map((name, j) => {
      const owner = owners[start + j];
      const extra = `logicalCluster: "${DOMAIN.lc}", clusters: [{ provider: "${DOMAIN.provider}", name: "c1" }, { provider: "${DOMAIN.provider}", name: "c2" }]${
        owner ? `, owner: { employeeId: "${owner}" }` : ''
      }`;
      return `g${j}: createDeploymentIntentGroup(input: ${groupInput(name, extra, project)}) { id }`;
    });
    const data = await s.ok<Record<string, { id: string }>>(`mutation { ${fields.join('\n')} }`);
    for (let j = 0; j < fields.length; j++) out.push(data[`g${j}`].id);
  }
  return out;
}

/** Counts the queries the client source sends to its store from now on. */
export function remoteQueries(s: TestServer): { readonly count: number; readonly queries: string[]; reset(): void; stop(): void } {
  const queries: string[] = [];
  const stop = s.app.engine.remote.sources.get('client')!.onQuery((q) => queries.push(q));
  return {
    get count() {
      return queries.length;
    },
    queries,
    reset() {
      queries.length = 0;
    },
    stop,
  };
}

/** Runs `fn` and returns what it returned with the number of remote queries it caused. */
export async function countingRemote<T>(s: TestServer, fn: () => Promise<T>): Promise<{ result: T; remote: number; queries: string[] }> {
  const counter = remoteQueries(s);
  try {
    const result = await fn();
    return { result, remote: counter.count, queries: [...counter.queries] };
  } finally {
    counter.stop();
  }
}

export async function rowCount(s: TestServer, table: string, where = '', params: unknown[] = []): Promise<number> {
  const [row] = await s.app.db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${table}${where ? ` WHERE ${where}` : ''}`, params);
  return Number(row.n);
}

/** Row counts of every table a write touches: a refused write must leave all of them as they were. */
export async function writeFootprint(s: TestServer): Promise<Record<string, number>> {
  const tables = ['resource', 'resource_history', 'resource_ref', 'remote_ref', 'remote_link'];
  const out: Record<string, number> = {};
  for (const t of tables) out[t] = await rowCount(s, t);
  return out;
}

export interface RemoteRefDbRow {
  id: string;
  entity_type: string;
  remote_hash_key: string;
  remote_key_payload: string;
  cached_entity: string | null;
  deleted: number | string;
  last_error: string | null;
}

export async function remoteRefRows(s: TestServer, where = '', params: unknown[] = []): Promise<RemoteRefDbRow[]> {
  return s.app.db.query<RemoteRefDbRow>(
    `SELECT id, entity_type, remote_hash_key, remote_key_payload, cached_entity, deleted, last_error FROM remote_ref${where ? ` WHERE ${where}` : ''} ORDER BY id`,
    params,
  );
}

/** The remote_ref row a document's field links to, if any. */
export async function linkedRef(s: TestServer, resourceId: string, path: string): Promise<string | null> {
  const rows = await s.app.db.query<{ remote_ref_id: string }>(`SELECT remote_ref_id FROM remote_link WHERE resource_id = ? AND path = ?`, [
    resourceId,
    path,
  ]);
  return rows[0]?.remote_ref_id ?? null;
}

/** Evicts every cached entity, as an ETL reload would make the change feed do. */
export async function evictAll(s: TestServer): Promise<void> {
  await s.app.db.execute(`UPDATE remote_ref SET cached_entity = NULL`);
}

export { until } from './poll.js';

/** A TCP port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The statements that rename the client's employee table away and back, valid on all three dialects. */
export const EMPLOYEE_AWAY = ['ALTER TABLE employee RENAME TO employee_gone'];
export const EMPLOYEE_BACK = ['ALTER TABLE employee_gone RENAME TO employee'];

export const OWNER_FIELDS = `id entityType status hashKey key fetchedAt lastError entity { employeeId name email department }`;
export const ACCOUNT_FIELDS = `id entityType status hashKey key fetchedAt lastError entity { number owner bank currency }`;
