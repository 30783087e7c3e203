import {
  createClientTables,
  DEMO_BANK_ACCOUNTS,
  DEMO_EMPLOYEES,
  insertDemoClientRows,
  type DemoEmployee,
} from '../../src/remote/client-demo.js';
import { tempMysql as mysqlOn, tempSqlite as sqliteFile, type TempStore } from '../../src/tools/temp-stores.js';

/**
 * Fresh stores for one benchmark: a SQLite file in a temporary directory, or a database of its own
 * on the MariaDB server named by BENCH_MYSQL_URL, dropped afterwards.
 */

export type { TempStore };
export type StoreKind = 'sqlite' | 'mariadb';

export const tempMysql = (serverUrl: string, prefix = 'bench') => mysqlOn(serverUrl, prefix);
export const tempSqlite = (file: string) => sqliteFile(file, 'isg-bench-');

export function tempOperationalStore(kind: StoreKind, mysqlUrl?: string): Promise<TempStore> {
  if (kind === 'sqlite') return Promise.resolve(tempSqlite('operational.sqlite'));
  if (!mysqlUrl) throw new Error('BENCH_MYSQL_URL is not set');
  return tempMysql(mysqlUrl, 'bench_op');
}

/** A benchmark's stores: a fresh operational store and a SQLite client store holding `employees` employees. */
export async function benchStores(
  kind: StoreKind,
  options: { mysqlUrl?: string; employees: number },
): Promise<{ op: TempStore; client: TempStore; stops: (() => Promise<unknown>)[] }> {
  const op = await tempOperationalStore(kind, options.mysqlUrl);
  const client = tempSqlite('client.sqlite');
  const stops: (() => Promise<unknown>)[] = [() => client.drop(), () => op.drop()];
  await createClientTables(client.url);
  await insertDemoClientRows(client.url, { employees: benchEmployees(options.employees), bankAccounts: DEMO_BANK_ACCOUNTS });
  return { op, client, stops };
}

/** The demo employees plus generated ones, `total` in all. */
export function benchEmployees(total: number): DemoEmployee[] {
  const out: DemoEmployee[] = [...DEMO_EMPLOYEES];
  const departments = ['Engineering', 'Operations', 'Finance', 'Research', 'Security'];
  for (let i = out.length + 1; i <= total; i++) {
    out.push({
      employeeId: `e-${i}`,
      name: `Bench Person ${i}`,
      email: `person${i}@example.com`,
      department: departments[i % departments.length],
    });
  }
  return out;
}
