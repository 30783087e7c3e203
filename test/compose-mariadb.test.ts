import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startEmployeesSubgraph, type EmployeesSubgraph } from '../examples/employees-subgraph/server.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startApp, type App } from '../src/server/app.js';
import { ROOT } from './fixtures/subgraph-process.js';
import { codes, type GraphQLResponse } from './support/server.js';
import { MYSQL_URL } from './support/stores.js';
import { as, TEST_SECRET } from './support/tokens.js';

/**
 * deploy/compose.yaml's start-up on the test MariaDB server, as far as it runs without containers:
 * what the mariadb image does with MARIADB_DATABASE / MARIADB_USER / MARIADB_PASSWORD and runs from
 * deploy/mariadb-init, then the migrate service's command, then the integrity and employees
 * services with the file's settings (hosts pointed at loopback, names made unique for a shared
 * server). The change feed is left out: its NATS stream is the change-feed suites' subject.
 */

interface Service {
  environment?: Record<string, string>;
}
const compose = parseYaml(readFileSync(join(ROOT, 'deploy/compose.yaml'), 'utf8')) as { services: Record<string, Service> };
const env = (service: string) => compose.services[service].environment ?? {};
const INTERPOLATION = /\$\{([A-Z_][A-Z0-9_]*)(?::?[?-][^}]*)?\}/g;

const unique = (what: string) => `${process.env.TEST_DB_PREFIX ?? ''}${what}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

describe("the compose file's MariaDB start-up: init SQL, migrate, then the subgraphs as its user", () => {
  const operational = unique('compose_op');
  const client = unique('compose_client');
  const user = unique('cu').slice(0, 80);
  const password = randomBytes(12).toString('hex');
  const server = new URL(MYSQL_URL);
  let app: App | undefined;
  let employees: EmployeesSubgraph | undefined;

  /** A URL of the compose file with its host, user, password and database names mapped to this run's. */
  const mapped = (composeUrl: string) => {
    const url = new URL(composeUrl.replace(INTERPOLATION, password));
    expect([url.hostname, url.port, url.username]).toEqual(['mariadb', '3306', env('mariadb').MARIADB_USER]);
    url.hostname = server.hostname;
    url.port = server.port || '3306';
    url.username = user;
    const database = url.pathname.slice(1);
    url.pathname = `/${database === env('mariadb').MARIADB_DATABASE ? operational : database === 'client' ? client : `unexpected-${database}`}`;
    return url.toString();
  };

  const root = () => mysql.createConnection({ uri: MYSQL_URL, multipleStatements: true });

  beforeAll(async () => {
    const conn = await root();
    try {
      // What the image's entrypoint does before it runs the init files (docker_setup_db).
      await conn.query(`CREATE DATABASE \`${operational}\``);
      await conn.query(`CREATE USER ?@'%' IDENTIFIED BY ?`, [user, password]);
      await conn.query(`GRANT ALL ON \`${operational}\`.* TO ?@'%'`, [user]);
      // Then each *.sql file of /docker-entrypoint-initdb.d, on MARIADB_DATABASE, with this run's names.
      let sql = readFileSync(join(ROOT, 'deploy/mariadb-init/client-store.sql'), 'utf8');
      for (const [from, to] of [
        ['CREATE DATABASE client ', `CREATE DATABASE \`${client}\` `],
        ['USE client;', `USE \`${client}\`;`],
        [`ON client.* TO '${env('mariadb').MARIADB_USER}'@'%'`, `ON \`${client}\`.* TO '${user}'@'%'`],
      ]) {
        expect(sql.split(from).length, from).toBe(2);
        sql = sql.replace(from, to);
      }
      await conn.changeUser({ database: operational });
      await conn.query(sql);
    } finally {
      await conn.end();
    }
  });

  afterAll(async () => {
    await employees?.stop();
    await app?.stop();
    const conn = await root();
    try {
      await conn.query(`DROP DATABASE IF EXISTS \`${operational}\``);
      await conn.query(`DROP DATABASE IF EXISTS \`${client}\``);
      await conn.query(`DROP USER IF EXISTS ?@'%'`, [user]);
    } finally {
      await conn.end();
    }
  });

  it('migrates as the migrate service does, then the subgraph starts with MIGRATIONS=check and reads the client store; the employees subgraph too', async () => {
    const databaseUrl = mapped(env('integrity').DATABASE_URL);
    expect(mapped(env('migrate').DATABASE_URL)).toBe(databaseUrl);
    const migrated = execFileSync(process.execPath, ['--import', 'tsx', 'src/tools/migrate.ts'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl },
      encoding: 'utf8',
    });
    expect(migrated).toMatch(/^Applied \d+ migrations to DATABASE_URL:/);

    const integrityEnv: NodeJS.ProcessEnv = {
      ...env('integrity'),
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_URL: databaseUrl,
      CLIENT_DATABASE_URL: mapped(env('integrity').CLIENT_DATABASE_URL),
      AUTH_JWT_SECRET: TEST_SECRET,
    };
    delete integrityEnv.CHANGE_FEED_URL;
    expect(integrityEnv.MIGRATIONS).toBe('check');
    app = await startApp(loadConfig(integrityEnv), createLogger('silent'), integrityEnv);
    employees = await startEmployeesSubgraph({ clientUrl: mapped(env('employees').CLIENT_DATABASE_URL), port: 0 });

    const post = async (url: string, query: string, headers: Record<string, string> = {}) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query }),
      });
      return (await res.json()) as GraphQLResponse;
    };
    const token = await as('dev', ['integrity:read', 'integrity:write']);
    expect(codes(await post(app.url, '{ projects { name } }'))).toEqual(['UNAUTHENTICATED']);
    const created = await post(
      app.url,
      'mutation { createProject(input: { name: "retail", billingAccount: { number: "ACC-1001", owner: "e-1" } }) { id } }',
      token,
    );
    expect(created.errors).toBeUndefined();
    expect((await post(app.url, '{ projects { name billingAccount { status entity { bank } } } }', token)).data).toEqual({
      projects: [{ name: 'retail', billingAccount: { status: 'FRESH', entity: { bank: 'First Analytical Bank' } } }],
    });
    expect((await post(employees.url, '{ bankAccount(number: "ACC-1001", owner: "e-1") { bank holder { name } } }')).data).toEqual({
      bankAccount: { bank: 'First Analytical Bank', holder: { name: 'Ada Lovelace' } },
    });
  });

  it("the subgraphs' user may read the client store but not change it", async () => {
    const conn = await mysql.createConnection(mapped(env('employees').CLIENT_DATABASE_URL));
    try {
      const [rows] = await conn.query('SELECT COUNT(*) AS n FROM employee');
      expect(rows).toEqual([{ n: 20 }]);
      await expect(conn.query("UPDATE employee SET name = 'x' WHERE employee_id = 'e-1'")).rejects.toMatchObject({
        code: 'ER_TABLEACCESS_DENIED_ERROR',
      });
    } finally {
      await conn.end();
    }
  });
});
