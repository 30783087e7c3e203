import type { Tx } from '../../data/db.js';

/**
 * How maintenance writes: each transaction first proves the run still holds its lease (fencing
 * token). The engine only sees this interface; the lease itself lives in src/maintenance.
 */
export interface FencedWriter {
  readonly token: number;
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
}
