// `npm run image:test`: builds the container image with podman on this machine and proves it.
// podman cannot run containers here (its OCI runtime refuses the machine's cgroup setup), so the
// image's exported filesystem is run the way a runtime would: its own entrypoint, command,
// environment, user and working directory, node as PID 1 of a fresh PID namespace, under
// unshare + chroot, on the host's network (to reach the local MariaDB). Steps:
//   1. a base image made locally: Debian bookworm (mmdebstrap, minbase, the mirror apt uses here)
//      with this machine's node, npm and node headers copied into /usr/local, as the official node
//      image lays them out; cached under ~/.cache/integrity-subgraph, keyed by its inputs
//   2. podman build --isolation=chroot with that base as NODE_IMAGE
//   3. the image's filesystem exported, its configuration read
//   4. migrate, serve (health, a query without and with a token), the health check, SIGTERM,
//      the embedded store, the employees subgraph
// Exits 1 naming the step and what went wrong. Needs root, podman, mmdebstrap, unshare, chroot.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const CACHE = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'integrity-subgraph');
const BASE_IMAGE = 'localhost/integrity-base:node20';
const IMAGE = process.env.IMAGE_TEST_TAG || 'localhost/integrity-subgraph:test';
const SUITE = 'bookworm';
// Longest wait for a start, a command or a stop: the server's own shutdown bound (SHUTDOWN_TIMEOUT_MS, 20 s) and some.
const BOUND_MS = 30_000;
const JWT_SECRET = 'image-test-secret-not-for-production-0123456789';

class StepError extends Error {}
const fail = (message) => {
  throw new StepError(message);
};

const timings = [];
async function step(name, fn) {
  process.stdout.write(`\n==> ${name}\n`);
  const started = performance.now();
  const result = await fn();
  const seconds = (performance.now() - started) / 1000;
  timings.push([name, seconds]);
  process.stdout.write(`    done in ${seconds.toFixed(1)} s\n`);
  return result;
}

/** Runs a command to its end; its output is shown unless `quiet`, and a failure stops the run. */
function run(command, args, { quiet = false, input } = {}) {
  const r = spawnSync(command, args, {
    encoding: 'utf8',
    input,
    stdio: [input === undefined ? 'ignore' : 'pipe', quiet ? 'pipe' : 'inherit', quiet ? 'pipe' : 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) fail(`${command} could not run: ${r.error.message}`);
  if (r.status !== 0) fail(`${command} ${args.join(' ')} exited ${r.status}${quiet ? `:\n${r.stdout}${r.stderr}` : ''}`);
  return r.stdout ?? '';
}

function need(command) {
  if (spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status !== 0)
    fail(`${command} is not installed (apt-get install podman mmdebstrap uidmap)`);
}

/** The Debian mirror apt uses on this machine (one-line or deb822 sources), so the base needs no other network. */
function aptMirror() {
  const files = [
    '/etc/apt/sources.list',
    ...(existsSync('/etc/apt/sources.list.d') ? readdirSync('/etc/apt/sources.list.d').map((f) => join('/etc/apt/sources.list.d', f)) : []),
  ];
  for (const file of files.filter((f) => existsSync(f) && statSync(f).isFile())) {
    const text = readFileSync(file, 'utf8');
    for (const line of text.split('\n')) {
      const m = line.match(/^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/);
      if (m && m[2] === SUITE) return m[1];
    }
    for (const stanza of text.split(/\n\s*\n/)) {
      const uris = stanza.match(/^URIs:\s*(\S+)/m);
      const suites = stanza.match(/^Suites:\s*(.+)$/m);
      if (uris && suites?.[1].split(/\s+/).includes(SUITE) && !/^Enabled:\s*no/im.test(stanza)) return uris[1];
    }
  }
  return 'http://deb.debian.org/debian';
}

/** This machine's node and what the base copies with it: npm and the headers native modules compile against. */
function localNode() {
  const node = realpathSync(process.execPath);
  const prefix = dirname(dirname(node));
  const npm = join(prefix, 'lib', 'node_modules', 'npm');
  const headers = join(prefix, 'include', 'node');
  if (!existsSync(join(npm, 'package.json'))) fail(`npm is not at ${npm}, where the base copies it from`);
  if (!existsSync(join(headers, 'node.h'))) fail(`node's headers are not at ${headers}, where the base copies them from`);
  const version = run(node, ['--version'], { quiet: true }).trim();
  if (!/^v20\./.test(version)) fail(`the base wants Node 20; ${node} is ${version}`);
  const npmVersion = JSON.parse(readFileSync(join(npm, 'package.json'), 'utf8')).version;
  return { node, npm, headers, version, npmVersion };
}

async function makeBase() {
  need('mmdebstrap');
  const mirror = aptMirror();
  const local = localNode();
  const hooks = [
    `copy-in ${local.node} /usr/local/bin`,
    'mkdir -p "$1/usr/local/lib/node_modules" "$1/usr/local/include"',
    `copy-in ${local.npm} /usr/local/lib/node_modules`,
    `copy-in ${local.headers} /usr/local/include`,
    'ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm" && ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"',
    // The copied node must run on the base's own libraries: checked here, not at the first build.
    'chroot "$1" /usr/bin/env -i /usr/local/bin/node --version && chroot "$1" /usr/bin/env -i /usr/local/bin/node /usr/local/bin/npm --version',
  ];
  const nodeHash = createHash('sha256').update(readFileSync(local.node)).digest('hex');
  const hash = createHash('sha256')
    .update(JSON.stringify({ suite: SUITE, variant: 'minbase', mirror, hooks, nodeHash, npm: local.npmVersion }))
    .digest('hex')
    .slice(0, 16);
  const tarball = join(CACHE, `base-${hash}.tar`);
  process.stdout.write(
    `    Debian ${SUITE} minbase from ${mirror} with node ${local.version} and npm ${local.npmVersion} (${local.node})\n`,
  );
  if (existsSync(tarball)) {
    process.stdout.write(`    cached: ${tarball}\n`);
  } else {
    mkdirSync(CACHE, { recursive: true });
    const partial = `${tarball}.partial.tar`;
    rmSync(partial, { force: true });
    run('mmdebstrap', ['--variant=minbase', '--quiet', ...hooks.map((h) => `--customize-hook=${h}`), SUITE, partial, mirror]);
    renameSync(partial, tarball);
    // A base made from other inputs (an older node, another recipe) is never used again.
    for (const old of readdirSync(CACHE).filter((f) => /^base-[0-9a-f]+\.tar$/.test(f) && join(CACHE, f) !== tarball))
      rmSync(join(CACHE, old));
    process.stdout.write(`    made ${tarball} (${(statSync(tarball).size / 1e6).toFixed(0)} MB)\n`);
  }
  const imported = spawnSync('podman', ['image', 'inspect', '--format', '{{ index .Config.Labels "integrity.base-hash" }}', BASE_IMAGE], {
    encoding: 'utf8',
  });
  if (imported.status === 0 && imported.stdout.trim() === hash) {
    process.stdout.write(`    ${BASE_IMAGE} is that base already\n`);
  } else {
    run(
      'podman',
      [
        'import',
        '--quiet',
        '--change',
        'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        '--change',
        `ENV NODE_VERSION=${local.version.slice(1)}`,
        '--change',
        `LABEL integrity.base-hash=${hash}`,
        '--change',
        'CMD ["node"]',
        tarball,
        BASE_IMAGE,
      ],
      { quiet: true },
    );
    process.stdout.write(`    imported as ${BASE_IMAGE}\n`);
  }
  return { hash, version: local.version };
}

/** Runs a command showing its output as it comes, and returns that output; a failure stops the run. */
function runShown(command, args) {
  return new Promise((res, rej) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const show = (d) => {
      out += d;
      process.stdout.write(d);
    };
    child.stdout.setEncoding('utf8').on('data', show);
    child.stderr.setEncoding('utf8').on('data', show);
    child.once('error', (e) => rej(new StepError(`${command} could not run: ${e.message}`)));
    child.once('exit', (code) => (code === 0 ? res(out) : rej(new StepError(`${command} ${args.join(' ')} exited ${code}`))));
  });
}

/**
 * Removes the step images earlier builds left (dangling, unnamed) but keeps this build's: podman
 * prune would take those too, and the next run would build from nothing.
 */
function removeSupersededImages() {
  for (let round = 0; round < 20; round++) {
    const dangling =
      spawnSync('podman', ['images', '--all', '--quiet', '--no-trunc', '--filter', 'dangling=true'], { encoding: 'utf8' }).stdout ?? '';
    const stale = [
      ...new Set(
        dangling
          .split('\n')
          .map((l) => l.trim().replace(/^sha256:/, ''))
          .filter(Boolean),
      ),
    ].filter((id) => !buildImages.has(id.slice(0, 11)));
    if (!stale.length) return;
    const removed = spawnSync('podman', ['rmi', ...stale], { stdio: 'ignore' });
    // Images that are still another's parent fail to go; they come up again once their children are gone.
    if (removed.status !== 0 && stale.every((id) => spawnSync('podman', ['image', 'exists', id]).status === 0)) return;
  }
}

let buildImages = new Set();

function imageSize(ref) {
  return Number(run('podman', ['image', 'inspect', '--format', '{{.Size}}', ref], { quiet: true }).trim());
}

async function buildImage() {
  const args = [
    'build',
    '--isolation=chroot',
    '--format',
    'docker',
    '--build-arg',
    `NODE_IMAGE=${BASE_IMAGE}`,
    '--build-arg',
    `VERSION=${pkg.version}`,
    '-t',
    IMAGE,
  ];
  // A TLS-intercepting proxy's CA (how this machine reaches the npm registry), for npm ci only: a build secret stays out of the layers.
  const ca = process.env.NODE_EXTRA_CA_CERTS;
  if (ca && existsSync(ca)) args.push('--secret', `id=ca,src=${ca}`);
  const output = await runShown('podman', [...args, '-f', join(ROOT, 'Containerfile'), ROOT]);
  // Every stage's step images of this build (`--> id`, `Using cache id`): the next run's layer cache.
  buildImages = new Set([...output.matchAll(/^(?:-->|--> Using cache) ([0-9a-f]{11,64})/gm)].map((m) => m[1].slice(0, 11)));
  const size = imageSize(IMAGE);
  process.stdout.write(`    ${IMAGE}: ${(size / 1e6).toFixed(0)} MB (the base alone: ${(imageSize(BASE_IMAGE) / 1e6).toFixed(0)} MB)\n`);
  return size;
}

/** The image's filesystem, unpacked, and the configuration a runtime would apply to it. */
async function exportImage(work) {
  const [inspected] = JSON.parse(run('podman', ['image', 'inspect', IMAGE], { quiet: true }));
  const c = inspected.Config ?? {};
  const config = {
    entrypoint: c.Entrypoint ?? [],
    cmd: c.Cmd ?? [],
    env: c.Env ?? [],
    user: c.User || 'root',
    workdir: c.WorkingDir || '/',
    healthcheck: c.Healthcheck ?? inspected.Healthcheck,
    stopSignal: c.StopSignal,
    volumes: Object.keys(c.Volumes ?? {}),
    exposed: Object.keys(c.ExposedPorts ?? {}),
    labels: c.Labels ?? {},
  };
  process.stdout.write(
    `    entrypoint ${JSON.stringify(config.entrypoint)}, command ${JSON.stringify(config.cmd)}, user ${config.user}, workdir ${config.workdir}\n`,
  );
  process.stdout.write(
    `    env ${config.env.join(' ')}\n    health check ${JSON.stringify(config.healthcheck?.Test)}, stop signal ${config.stopSignal}, volumes ${config.volumes.join(' ')}, ports ${config.exposed.join(' ')}\n`,
  );
  if (!config.entrypoint.length) fail('the image has no entrypoint');
  if (config.user === 'root' || config.user.startsWith('0')) fail('the image runs as root');
  if (!config.healthcheck?.Test?.length) fail('the image has no health check (built without --format docker?)');
  if (config.labels['org.opencontainers.image.version'] !== pkg.version)
    fail(`the image's version label is "${config.labels['org.opencontainers.image.version']}", not ${pkg.version}`);

  const name = `integrity-image-test-${process.pid}`;
  run('podman', ['create', '--name', name, IMAGE], { quiet: true });
  const rootfs = join(work, 'rootfs');
  mkdirSync(rootfs);
  try {
    run('podman', ['export', '-o', join(work, 'rootfs.tar'), name], { quiet: true });
  } finally {
    spawnSync('podman', ['rm', '--force', name], { stdio: 'ignore' });
  }
  run('tar', ['--numeric-owner', '-xpf', join(work, 'rootfs.tar'), '-C', rootfs], { quiet: true });
  rmSync(join(work, 'rootfs.tar'));
  const [uid, gid] = resolveUser(rootfs, config.user);
  process.stdout.write(`    unpacked into ${rootfs}; user ${config.user} is ${uid}:${gid}\n`);
  return { ...config, rootfs, uid, gid };
}

/** USER as name[:group] or numbers, resolved in the image's own /etc/passwd and /etc/group. */
function resolveUser(rootfs, spec) {
  const [user, group] = spec.split(':');
  const table = (file) =>
    readFileSync(join(rootfs, 'etc', file), 'utf8')
      .split('\n')
      .map((l) => l.split(':'));
  const passwd = /^\d+$/.test(user) ? undefined : table('passwd').find((f) => f[0] === user);
  if (!/^\d+$/.test(user) && !passwd) fail(`the image's user ${user} is not in its /etc/passwd`);
  const uid = passwd ? passwd[2] : user;
  let gid = passwd ? passwd[3] : user;
  if (group)
    gid = /^\d+$/.test(group)
      ? group
      : (table('group').find((f) => f[0] === group)?.[2] ?? fail(`the image's group ${group} is not in its /etc/group`));
  return [uid, gid];
}

/**
 * Starts the image's entrypoint with `args` (the image's command when empty) as a runtime would:
 * a PID and mount namespace of its own (node is PID 1), /proc and a minimal /dev, chroot into the
 * exported filesystem, the image's user, working directory and environment plus `env`.
 */
function runInImage(image, args, env = {}) {
  const r = image.rootfs;
  const environment = [...image.env, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)];
  const command = args.length ? [...image.entrypoint, ...args] : [...image.entrypoint, ...image.cmd];
  const setup = [
    'set -e',
    'mount -t proc proc "$R/proc"',
    'mount -t tmpfs -o mode=755,nosuid tmpfs "$R/dev"',
    'for d in null zero random urandom full; do touch "$R/dev/$d"; mount --bind "/dev/$d" "$R/dev/$d"; done',
    'mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/dev/shm" 2>/dev/null || { mkdir -p "$R/dev/shm" && mount -t tmpfs -o mode=1777 tmpfs "$R/dev/shm"; }',
    // env -i: exactly the image's environment; --chdir: its working directory.
    `exec chroot --userspec="${image.uid}:${image.gid}" --groups="${image.gid}" "$R" /usr/bin/env -i --chdir="${image.workdir}" "$@"`,
  ].join('\n');
  const child = spawn(
    'unshare',
    ['--pid', '--mount', '--fork', '--kill-child', '--propagation', 'private', '--', 'sh', '-c', setup, 'sh', ...environment, ...command],
    {
      env: { PATH: process.env.PATH, R: r },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (out += d));
  const exited = new Promise((res) => child.once('exit', (code, signal) => res(code ?? `signal ${signal}`)));
  return {
    child,
    output: () => out,
    exited,
    /** The host pid of the namespace's PID 1 (the image's node): unshare's only child. */
    nodePid() {
      const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      if (children.length !== 1) fail(`expected one process under unshare, found ${children.length}`);
      return Number(children[0]);
    },
  };
}

async function withDeadline(what, promise, ms = BOUND_MS) {
  let timer;
  const deadline = new Promise((_, rej) => (timer = setTimeout(() => rej(new StepError(`${what}: no result within ${ms / 1000} s`)), ms)));
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function runToEnd(image, args, env, what) {
  const p = runInImage(image, args, env);
  const code = await withDeadline(what, p.exited).catch((e) => {
    p.child.kill('SIGKILL');
    throw e;
  });
  return { code, output: p.output() };
}

async function waitFor(what, check, ms = BOUND_MS) {
  const deadline = performance.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (performance.now() > deadline) fail(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function portAnswers(port) {
  return new Promise((res) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      res(true);
    });
    socket.once('error', () => res(false));
  });
}

async function gql(port, query, token) {
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
  return res.json();
}

/** Starts a long-running command in the image and waits for `ready` in its output. */
async function startInImage(image, args, env, ready) {
  const p = runInImage(image, args, env);
  await waitFor(`${ready} from "${args.join(' ') || image.cmd.join(' ')}"`, async () => {
    if (p.child.exitCode !== null) fail(`"${args.join(' ')}" exited ${p.child.exitCode} before it was ready:\n${p.output()}`);
    return ready.test(p.output());
  });
  return p;
}

/** SIGTERM to the image's node (PID 1 of its namespace): it must exit 0 within the bound and free its port. */
async function stopWithSigterm(p, port, what) {
  const started = performance.now();
  process.kill(p.nodePid(), 'SIGTERM');
  const code = await withDeadline(`${what} to exit after SIGTERM`, p.exited).catch((e) => {
    p.child.kill('SIGKILL');
    throw e;
  });
  const ms = performance.now() - started;
  if (code !== 0) fail(`${what} exited ${code} on SIGTERM:\n${p.output()}`);
  if (await portAnswers(port)) fail(`port ${port} still answers after ${what} exited`);
  process.stdout.write(`    SIGTERM: ${what} exited 0 in ${ms.toFixed(0)} ms, port ${port} freed\n`);
}

async function mariadb() {
  const { createConnection } = await import('mysql2/promise');
  const server = new URL(process.env.IMAGE_TEST_MYSQL_URL || process.env.TEST_MYSQL_URL || 'mysql://root@127.0.0.1:3306/test');
  const name = `${process.env.TEST_DB_PREFIX || 'isg_'}image_${process.pid}`;
  const admin = await createConnection({
    host: server.hostname,
    port: Number(server.port || 3306),
    user: decodeURIComponent(server.username),
    password: decodeURIComponent(server.password),
  }).catch((e) =>
    fail(
      `MariaDB at ${server.host} did not answer (${e.code ?? e.message}); start it, or point IMAGE_TEST_MYSQL_URL (or TEST_MYSQL_URL) at one`,
    ),
  );
  await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await admin.query(`CREATE DATABASE \`${name}\``);
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.end();
    },
  };
}

async function proveImage(image) {
  const db = await mariadb();
  const running = new Set();
  const track = (p) => {
    running.add(p);
    return p;
  };
  try {
    const env = { DATABASE_URL: db.url, AUTH_MODE: 'jwt', AUTH_JWT_SECRET: JWT_SECRET };

    await step('migrate: applies the pending migrations and exits; a second run has nothing to do', async () => {
      const first = await runToEnd(image, ['migrate'], env, 'migrate');
      if (first.code !== 0 || !/^Applied \d+ migrations? to DATABASE_URL/m.test(first.output))
        fail(`migrate exited ${first.code}:\n${first.output}`);
      process.stdout.write(`    ${first.output.trim().split('\n')[0]}\n`);
      const second = await runToEnd(image, ['migrate'], env, 'migrate again');
      if (second.code !== 0 || !/No pending migrations/.test(second.output))
        fail(`the second migrate exited ${second.code}:\n${second.output}`);
      process.stdout.write(`    ${second.output.trim()}\n`);
    });

    const port = await freePort();
    const served = await step(
      `serve (the image's command) with MIGRATIONS=check on MariaDB: /health, a query without and with a token`,
      async () => {
        const p = track(await startInImage(image, [], { ...env, PORT: String(port), MIGRATIONS: 'check' }, /Integrity subgraph ready/));
        // As in a container, node is PID 1 of its namespace: only signals it handles reach it.
        const nsPids = readFileSync(`/proc/${p.nodePid()}/status`, 'utf8')
          .match(/^NSpid:\s*(.+)$/m)?.[1]
          .trim()
          .split(/\s+/);
        if (nsPids?.at(-1) !== '1') fail(`node is not PID 1 of its namespace (NSpid ${nsPids?.join(' ')})`);
        process.stdout.write(`    node is PID 1 in its namespace (host pid ${nsPids[0]})\n`);
        const health = await fetch(`http://127.0.0.1:${port}/health`);
        if (health.status !== 200) fail(`/health answered ${health.status}`);
        process.stdout.write(`    GET /health: ${health.status} ${await health.text()}\n`);
        const anonymous = await gql(port, '{ projects(first: 10) { name } }');
        if (anonymous.errors?.[0]?.extensions?.code !== 'UNAUTHENTICATED')
          fail(`a query without a token answered ${JSON.stringify(anonymous)}`);
        process.stdout.write(`    without a token: ${anonymous.errors[0].extensions.code}\n`);
        const minted = await runToEnd(
          image,
          ['token', '--scopes', 'integrity:read', '--sub', 'image-test'],
          { AUTH_JWT_SECRET: JWT_SECRET },
          'token',
        );
        const token = minted.output.trim();
        if (minted.code !== 0 || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) fail(`token exited ${minted.code}:\n${minted.output}`);
        const answer = await gql(port, '{ projects(first: 10) { name } }', token);
        if (JSON.stringify(answer) !== '{"data":{"projects":[]}}') fail(`the query with a token answered ${JSON.stringify(answer)}`);
        process.stdout.write(`    token (run in the image) accepted: ${JSON.stringify(answer)}\n`);
        return p;
      },
    );

    await step(`the image's health check (${image.healthcheck.Test.join(' ')})`, async () => {
      const [kind, ...test] = image.healthcheck.Test;
      const args = kind === 'CMD-SHELL' ? ['/bin/sh', '-c', test.join(' ')] : test;
      // Run as the runtime would: the same image, environment and user, no entrypoint.
      const probe = await runToEnd({ ...image, entrypoint: [] }, args, { ...env, PORT: String(port) }, 'the health check');
      if (probe.code !== 0) fail(`the health check exited ${probe.code}:\n${probe.output}`);
      process.stdout.write(`    exited 0: ${probe.output.trim()}\n`);
    });

    await step('SIGTERM to serve', async () => {
      await stopWithSigterm(served, port, 'serve');
      running.delete(served);
      if (!/"msg":"stopped"/.test(served.output())) fail(`serve did not log "stopped":\n${served.output()}`);
    });

    await step('serve without DATABASE_URL: the embedded store in DATA_DIR (the volume)', async () => {
      const embeddedPort = await freePort();
      const p = track(await startInImage(image, ['serve'], { PORT: String(embeddedPort) }, /Integrity subgraph ready/));
      const health = await fetch(`http://127.0.0.1:${embeddedPort}/health`);
      if (health.status !== 200) fail(`/health answered ${health.status}`);
      const answer = await gql(embeddedPort, '{ deploymentIntentGroups(project: "retail") { name } }');
      if (!answer.data?.deploymentIntentGroups?.length) fail(`the demo query answered ${JSON.stringify(answer)}`);
      const files = readdirSync(join(image.rootfs, 'data'));
      process.stdout.write(
        `    GET /health: 200; demo groups: ${answer.data.deploymentIntentGroups.map((g) => g.name).join(', ')}; /data holds ${files.join(', ')}\n`,
      );
      await stopWithSigterm(p, embeddedPort, 'serve (embedded)');
      running.delete(p);
    });

    await step('employees: the example subgraph for the compose file', async () => {
      const employeesPort = await freePort();
      const p = track(await startInImage(image, ['employees'], { PORT: String(employeesPort) }, /employees subgraph ready/));
      const answer = await gql(employeesPort, '{ employee(employeeId: "e-1") { name bankAccounts { number } } }');
      if (!answer.data?.employee?.bankAccounts?.length) fail(`employees answered ${JSON.stringify(answer)}`);
      process.stdout.write(`    ${JSON.stringify(answer)}\n`);
      await stopWithSigterm(p, employeesPort, 'employees');
      running.delete(p);
    });
  } finally {
    for (const p of running) p.child.kill('SIGKILL');
    await Promise.all([...running].map((p) => p.exited));
    await db.drop();
  }
}

const work = mkdtempSync(join(tmpdir(), 'image-test-'));
let exitCode = 0;
let size;
try {
  if (process.getuid?.() !== 0) fail('needs root: unshare, chroot and the image store (run it as root, as CI does)');
  for (const command of ['podman', 'unshare', 'chroot', 'tar']) need(command);
  await step("base image: Debian with this machine's Node 20", makeBase);
  size = await step(`podman build --isolation=chroot (${IMAGE})`, buildImage);
  const image = await step('export the image and read its configuration', () => exportImage(work));
  await proveImage(image);
} catch (e) {
  exitCode = 1;
  process.stderr.write(`\nimage:test FAILED: ${e instanceof StepError ? e.message : (e?.stack ?? String(e))}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
  // Superseded layers of earlier builds go; the base, the image and this build's layers stay, so the next run is fast.
  if (buildImages.size) removeSupersededImages();
}

process.stdout.write('\nSummary:\n');
for (const [name, seconds] of timings) process.stdout.write(`  ${seconds.toFixed(1).padStart(7)} s  ${name}\n`);
process.stdout.write(
  `  ${timings
    .reduce((n, [, s]) => n + s, 0)
    .toFixed(1)
    .padStart(7)} s  in all\n`,
);
if (size) process.stdout.write(`  image size: ${(size / 1e6).toFixed(0)} MB\n`);
process.stdout.write(exitCode ? '\nimage:test FAILED\n' : '\nimage:test passed\n');
process.exit(exitCode);
