import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, INHERITED_SETTINGS, ROOT } from './fixtures/subgraph-process.js';

/**
 * The long-running commands the README and docs/ give, started as a terminal or an orchestrator
 * starts them (`npm run <x>` in a process group of its own) and stopped as they stop them: SIGTERM
 * or SIGINT to the npm process, or SIGINT to the whole foreground group (what Ctrl-C does). Each
 * time the whole tree exits 0 (docs/operations.md, "Signals"), no process of the group is left, and
 * every port it listened on can be bound again.
 * NODE_ENV is removed from the children's environment: vitest sets NODE_ENV=test, which a terminal
 * does not, and the commands must work without it.
 */
interface Command {
  script: string;
  /** The settings naming its ports, each given a free one. */
  portSettings: string[];
  /** What it prints once it serves, after its signal handlers are in place. */
  ready: RegExp;
  readyTimeoutMs: number;
  /** The ways of stopping it tried here (default: all of DELIVERIES). */
  deliveries?: Delivery[];
}

const COMMANDS: Command[] = [
  { script: 'dev', portSettings: ['PORT'], ready: /Open Apollo Sandbox: \S+/, readyTimeoutMs: 60_000 },
  {
    script: 'demo:supergraph',
    portSettings: ['PORT', 'EMPLOYEES_PORT', 'GATEWAY_PORT'],
    ready: /Supergraph ready \(Apollo Gateway\)\. Open Apollo Sandbox: \S+/,
    readyTimeoutMs: 60_000,
  },
  // `npm start` builds dist/ first when it is missing or stale (up to a minute of tsc).
  // SIGTERM and SIGINT to npm itself are test/shutdown.test.ts's (with a request in flight); here, the terminal's.
  {
    script: 'start',
    portSettings: ['PORT'],
    ready: /Integrity subgraph ready/,
    readyTimeoutMs: 180_000,
    deliveries: ['SIGINT to the group (Ctrl-C)'],
  },
];

type Delivery = 'SIGTERM to npm' | 'SIGINT to npm' | 'SIGINT to the group (Ctrl-C)' | 'SIGTERM to the group';
/**
 * What an orchestrator sends (SIGTERM to the process it started, npm) and what a terminal sends
 * (SIGINT to the whole foreground group). `run` also knows SIGINT to npm and SIGTERM to the group;
 * both passed for every command when this suite was written, and are left out to keep CI short.
 */
const DELIVERIES: Delivery[] = ['SIGTERM to npm', 'SIGINT to the group (Ctrl-C)'];

const dirs: string[] = [];
const groups: number[] = [];
afterAll(() => {
  // Only when an assertion failed is anything left: do not leave it running.
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The live (not zombie) processes whose process group is `pgid`, read from /proc. */
function liveInGroup(pgid: number): string[] {
  const found: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses, so split after the last ')'.
    const close = stat.lastIndexOf(')');
    const [state, , pgrp] = stat.slice(close + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') found.push(`${name} ${stat.slice(stat.indexOf('('), close + 1)} ${state}`);
  }
  return found;
}

/** Whether this process can listen on 127.0.0.1:port (it closes it again at once). */
function canBind(port: number): Promise<boolean> {
  return new Promise((res) => {
    const server = createServer();
    server.once('error', () => res(false));
    server.listen(port, '127.0.0.1', () => server.close(() => res(true)));
  });
}

function childEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of [...INHERITED_SETTINGS, 'NODE_ENV']) delete env[k];
  return { ...env, ...settings };
}

async function run(command: Command, delivery: Delivery) {
  const dataDir = mkdtempSync(join(tmpdir(), 'signals-'));
  dirs.push(dataDir);
  const ports: number[] = [];
  const settings: Record<string, string> = { DATA_DIR: dataDir, NO_COLOR: '1' };
  for (const s of command.portSettings) {
    const p = await freePort();
    ports.push(p);
    settings[s] = String(p);
  }
  const child = spawn('npm', ['run', command.script], {
    cwd: ROOT,
    env: childEnv(settings),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const pgid = child.pid!;
  groups.push(pgid);
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  type Exit = { code: number | null; signal: NodeJS.Signals | null };
  const exited = new Promise<Exit>((res) => child.once('exit', (code, signal) => res({ code, signal })));
  // Its output is complete only once every holder of the pipes (npm's children too) is gone.
  const closed = new Promise<void>((res) => child.once('close', () => res()));
  const told = () => `\n--- stdout ---\n${out.slice(-3000)}\n--- stderr ---\n${err.slice(-3000)}`;
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(
      () => rej(new Error(`npm run ${command.script} printed no ${command.ready} within ${command.readyTimeoutMs} ms${told()}`)),
      command.readyTimeoutMs,
    );
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (command.ready.test(out)) {
        clearTimeout(timer);
        res();
      }
    });
    void exited.then((e) => {
      clearTimeout(timer);
      rej(new Error(`npm run ${command.script} exited (${JSON.stringify(e)}) before it was ready${told()}`));
    });
  });
  for (const p of ports) expect(await canBind(p), `port ${p} is served while it runs`).toBe(false);

  const signal = delivery.startsWith('SIGTERM') ? 'SIGTERM' : 'SIGINT';
  process.kill(delivery.includes('group') ? -pgid : pgid, signal);
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([
    exited,
    new Promise<'no exit within 45 s'>((res) => (timer = setTimeout(() => res('no exit within 45 s'), 45_000))),
  ]);
  clearTimeout(timer);
  const left = liveInGroup(pgid);
  const bound = await Promise.all(ports.map(async (p) => [p, await canBind(p)] as const));
  // What is left is recorded above; now end it, so that the output can be read to its end.
  if (left.length || typeof exit === 'string') process.kill(-pgid, 'SIGKILL');
  await closed;
  return { exit, left, bound, told: told() };
}

describe('npm run build', () => {
  // In a copy of the checkout: other workers run the compiled server from this checkout's dist/
  // meanwhile (the test set-up built it), and a rebuild would rewrite it under them.
  it('compiles dist/ and the console and exits 0', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'build-'));
    for (const p of [
      'package.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'scripts',
      'src',
      'resolvers',
      'schema',
      'examples',
      'console',
    ]) {
      cpSync(join(ROOT, p), join(copy, p), { recursive: true });
    }
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
    const child = spawn('npm', ['run', 'build'], { cwd: copy, env: childEnv({}), stdio: ['ignore', 'pipe', 'pipe'] });
    let said = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (said += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (said += d));
    const code = await new Promise<number | null>((res) => child.once('close', res));
    expect(code, said).toBe(0);
    expect(said).toContain('Building dist/ (tsc -p tsconfig.build.json)');
    expect(said).toMatch(/Built the console into \S+ \([\d.]+ KiB\)/);
    expect(existsSync(join(copy, 'dist', 'src', 'main.js'))).toBe(true);
    expect(existsSync(join(copy, 'dist', 'schema', 'relationships.json'))).toBe(true);
    expect(existsSync(join(copy, 'dist', 'console', 'index.html'))).toBe(true);
    rmSync(copy, { recursive: true, force: true });
  }, 180_000);
});

describe.each(COMMANDS)('npm run $script stops on signals with nothing left behind', (command) => {
  it.each(command.deliveries ?? DELIVERIES)(
    '%s: exits 0, no process of its group left, its ports free',
    async (delivery) => {
      const { exit, left, bound, told } = await run(command, delivery);
      const busyPorts = bound.filter(([, free]) => !free).map(([p]) => p);
      expect({ exit, left, busyPorts }, told).toEqual({ exit: { code: 0, signal: null }, left: [], busyPorts: [] });
    },
    240_000,
  );
});
