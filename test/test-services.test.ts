import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './fixtures/subgraph-process.js';

/** `npm test` with its services down stops before any suite, naming each missing one and how to start it. */
describe('npm test checks its services first', () => {
  it('with MariaDB and NATS pointed at closed ports, one message names both, their settings and how to start them; no suite runs', () => {
    const run = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/sqlite-queue.test.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: {
        ...process.env,
        TEST_SERVICES: '',
        TEST_MYSQL_URL: 'mysql://root@127.0.0.1:1/test',
        TEST_NATS_HOST: '127.0.0.1:2',
        NO_COLOR: '1',
      },
    });
    expect(run.status).not.toBe(0);
    const said = `${run.stdout}${run.stderr}`;
    expect(said).toContain('npm test needs services that do not answer:');
    expect(said).toContain('- MariaDB at 127.0.0.1:1 (TEST_MYSQL_URL): start it with');
    expect(said).toContain('- NATS with JetStream at 127.0.0.1:2 (TEST_NATS_HOST): start it with');
    expect(said).not.toMatch(/- (PostgreSQL|Redis) at/);
    // Commands that work where systemd does not run (containers, CI machines), as .ci/run starts them.
    expect(said).toContain(
      'start it with sudo service mariadb start  (no init system: sudo start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd;',
    );
    expect(said).toContain('start it with nats-server -js');
    expect(said).not.toContain('systemctl start');
    expect(said).toContain('npm run test:sqlite');
    expect(said).not.toMatch(/ECONNREFUSED|Tests\s+\d+ passed/);
  });
});
