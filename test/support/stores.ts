import { tempMysql as mysqlOn, tempPostgres as postgresOn, tempSqlite as sqliteFile, type TempStore } from '../../src/tools/temp-stores.js';

export type { TempStore };

/**
 * Real stores for tests. MariaDB and PostgreSQL must be up: a missing service fails the suite,
 * it never skips it. Each call makes a database of its own, so test files can run side by side.
 */
export const MYSQL_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
export const PG_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export type OperationalKind = 'sqlite' | 'mariadb';
export type ClientKind = 'sqlite' | 'mariadb' | 'postgres';
export const OPERATIONAL_KINDS: OperationalKind[] = ['sqlite', 'mariadb'];
export const CLIENT_KINDS: ClientKind[] = ['sqlite', 'postgres', 'mariadb'];

export const tempMysql = (prefix = 'it', options: { serverDefaultCollation?: boolean } = {}) => mysqlOn(MYSQL_URL, prefix, options);
export const tempPostgres = (prefix = 'it') => postgresOn(PG_URL, prefix);
export const tempSqlite = (file = 'store.sqlite') => sqliteFile(file);

export function tempOperationalStore(kind: OperationalKind): Promise<TempStore> {
  return kind === 'sqlite' ? Promise.resolve(tempSqlite('operational.sqlite')) : tempMysql('op');
}

export function tempClientStore(kind: ClientKind): Promise<TempStore> {
  if (kind === 'sqlite') return Promise.resolve(tempSqlite('client.sqlite'));
  return kind === 'postgres' ? tempPostgres('client') : tempMysql('client');
}
