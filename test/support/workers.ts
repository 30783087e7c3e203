import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

export interface Worker {
  child: ChildProcess;
  exited: Promise<WorkerExit>;
}

/**
 * Worker processes (replicas) for multi-process tests: each a node process running a TypeScript
 * script through tsx's loader. `children` tracks the live ones so afterAll can kill leftovers.
 */
export function spawnWorker(script: string, args: (string | number)[], children: Set<ChildProcess>, env: NodeJS.ProcessEnv = {}): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args.map(String)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<WorkerExit>((resolveExit) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolveExit({ code, signal, stderr });
    }),
  );
  return { child, exited };
}
