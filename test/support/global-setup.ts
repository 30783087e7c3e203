import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import pg from 'pg';

/**
 * Before any suite: the services `npm test` needs are asked whether they answer, and a run with
 * one down stops at once with one message naming each and how to start it (instead of every
 * suite failing with ECONNREFUSED). `npm run test:sqlite` (TEST_SERVICES=none) needs none.
 * The run gets a temporary directory of its own (TMPDIR, for every worker and child process) and
 * a database prefix of its own (TEST_DB_PREFIX + a run id): both are removed afterwards, whatever
 * a suite left behind.
 */
interface Service {
  name: string;
  setting: string;
  address: string;
  start: string;
}

const MYSQL_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const PG_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const hostOf = (url: string, port: number) => {
  const u = new URL(url);
  return `${u.hostname}:${u.port || port}`;
};

const SERVICES: Service[] = [
  {
    name: 'MariaDB',
    setting: 'TEST_MYSQL_URL',
    address: hostOf(MYSQL_URL, 3306),
    start:
      'sudo service mariadb start  (no init system: sudo start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd; or: podman run -d -p 3306:3306 -e MARIADB_ALLOW_EMPTY_ROOT_PASSWORD=1 -e MARIADB_DATABASE=test docker.io/library/mariadb:11)',
  },
  {
    name: 'PostgreSQL',
    setting: 'TEST_PG_URL',
    address: hostOf(PG_URL, 5432),
    start:
      'sudo service postgresql start  (no init system: sudo pg_ctlcluster --skip-systemctl-redirect <version> main start; or: podman run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test docker.io/library/postgres:16)',
  },
  {
    name: 'Redis',
    setting: 'TEST_REDIS_HOST',
    address: process.env.TEST_REDIS_HOST ?? '127.0.0.1:6379',
    start:
      'sudo service redis-server start  (no init system: redis-server --daemonize yes --bind 127.0.0.1; or: podman run -d -p 6379:6379 docker.io/library/redis:7)',
  },
  {
    name: 'NATS with JetStream',
    setting: 'TEST_NATS_HOST',
    address: process.env.TEST_NATS_HOST ?? '127.0.0.1:4222',
    start: 'nats-server -js -a 127.0.0.1 &  (or: podman run -d -p 4222:4222 docker.io/library/nats:2 -js)',
  },
];

/** Whether something accepts a TCP connection at host:port within two seconds. */
function answers(address: string): Promise<boolean> {
  const i = address.lastIndexOf(':');
  return new Promise((res) => {
    const socket = connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)) });
    const done = (ok: boolean) => {
      socket.destroy();
      res(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function dropRunDatabases(prefix: string): Promise<void> {
  const like = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const conn = await mysql.createConnection(MYSQL_URL).catch(() => undefined);
  if (conn) {
    try {
      const [rows] = await conn.query('SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ?', [like]);
      for (const { name } of rows as Array<{ name: string }>) await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
    } finally {
      await conn.end();
    }
  }
  const client = new pg.Client({ connectionString: PG_URL });
  if (
    await client.connect().then(
      () => true,
      () => false,
    )
  ) {
    try {
      const { rows } = await client.query<{ name: string }>('SELECT datname AS name FROM pg_database WHERE datname LIKE $1', [like]);
      for (const { name } of rows) await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    } finally {
      await client.end();
    }
  }
}

export default async function setup(): Promise<() => Promise<void>> {
  if (process.env.TEST_SERVICES !== 'none') {
    const down: Service[] = [];
    for (const s of SERVICES) if (!(await answers(s.address))) down.push(s);
    if (down.length) {
      throw new Error(
        `npm test needs services that do not answer:\n${down.map((s) => `  - ${s.name} at ${s.address} (${s.setting}): start it with ${s.start}`).join('\n')}\n` +
          'Point the setting at where it runs, or run `npm run test:sqlite` for the suites that need no server.',
      );
    }
  }
  // Suites start the compiled server (`npm start`) from two workers at once: dist/ is built here,
  // once, so that none of them rebuilds it while another reads it.
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  const built = spawnSync(process.execPath, [join(root, 'scripts/start.mjs'), '--build-if-stale'], { cwd: root, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`building dist/ failed:\n${built.stdout}${built.stderr}`);
  const tmp = mkdtempSync(join(tmpdir(), 'isg-test-run-'));
  const previousTmp = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  const given = process.env.TEST_DB_PREFIX ?? 'isg_';
  if (!/^[A-Za-z0-9_]{0,24}$/.test(given))
    throw new Error(`TEST_DB_PREFIX must be at most 24 letters, digits or underscores (got "${given}")`);
  const prefix = `${given}${randomBytes(3).toString('hex')}_`;
  process.env.TEST_DB_PREFIX = prefix;
  return async () => {
    if (previousTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previousTmp;
    rmSync(tmp, { recursive: true, force: true });
    if (process.env.TEST_SERVICES !== 'none') await dropRunDatabases(prefix);
  };
}
