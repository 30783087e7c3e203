import { fork, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Role, ServerStats } from './serve.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SERVE = resolve(ROOT, 'bench/peer/serve.ts');

/** A benchmark server running in a child process (bench/peer/serve.ts), asked for its stats over IPC. */
export interface ServerProcess {
  role: Role;
  url: string;
  pid: number;
  stats(): Promise<ServerStats>;
  stop(): Promise<void>;
}

export async function spawnServer(role: Role, env: Record<string, string>, execArgv: string[] = []): Promise<ServerProcess> {
  const child: ChildProcess = fork(SERVE, [role], {
    cwd: ROOT,
    execArgv: [...execArgv, '--import', 'tsx'],
    // Spawned servers run without authentication (harmless before access control exists).
    env: { ...process.env, AUTH_MODE: 'none', APOLLO_TELEMETRY_DISABLED: 'true', LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const url = await new Promise<string>((res, rej) => {
    child.once('exit', (code) => rej(new Error(`${role} exited with ${code} before it was ready`)));
    child.once('message', (m: { url?: string }) => (m.url ? res(m.url) : rej(new Error(`${role}: unexpected message`))));
  });
  let next = 0;
  const pending = new Map<number, (s: ServerStats) => void>();
  child.on('message', (m: { id?: number; stats?: ServerStats }) => {
    if (m.id !== undefined && m.stats) pending.get(m.id)?.(m.stats);
    if (m.id !== undefined) pending.delete(m.id);
  });
  return {
    role,
    url,
    pid: child.pid!,
    stats: () =>
      new Promise<ServerStats>((res) => {
        const id = next++;
        pending.set(id, res);
        child.send({ id, cmd: 'stats' });
      }),
    stop: async () => {
      if (child.exitCode !== null) return;
      child.send({ id: -1, cmd: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
