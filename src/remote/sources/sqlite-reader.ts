import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Reads a SQLite client store on a worker thread. better-sqlite3 is synchronous: on the main thread
 * a file locked by another process would stall every request for the whole busy timeout. Here the
 * wait happens on the worker; the main thread only waits for a message. One worker per store, so
 * statements run one at a time, as they would on the single connection.
 */

/** The worker's code (CommonJS, evaluated): opens the file on first use, read-only by pragma. */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
let db;
parentPort.on('message', ({ id, sql, params }) => {
  try {
    if (!db) {
      db = new Database(workerData.path, { fileMustExist: true, timeout: workerData.busyTimeoutMs });
      db.pragma('query_only = ON');
    }
    parentPort.postMessage({ id, rows: db.prepare(sql).all(...params) });
  } catch (e) {
    parentPort.postMessage({ id, error: { message: String(e && e.message), code: e && e.code } });
  }
});
`;

type Row = Record<string, unknown>;
interface Reply {
  id: number;
  rows?: Row[];
  error?: { message: string; code?: string };
}

export class SqliteReader {
  private worker?: Worker;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(rows: Row[]): void; reject(e: Error): void }>();

  constructor(
    private readonly path: string,
    private readonly busyTimeoutMs: number,
  ) {}

  all(sql: string, params: unknown[]): Promise<Row[]> {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<Row[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, sql, params });
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.fail(new Error('the store was closed'));
    await worker?.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(WORKER, { eval: true, workerData: { driver, path: this.path, busyTimeoutMs: this.busyTimeoutMs } });
    // A reader must not keep the process alive on its own.
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if (reply.error) waiting.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
      else waiting.resolve(reply.rows ?? []);
    });
    worker.on('error', (e) => this.fail(e));
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
      this.fail(new Error('the reader thread stopped'));
    });
    this.worker = worker;
    return worker;
  }

  private fail(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
