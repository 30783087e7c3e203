import type { RemoteTypeDef } from '../../model/model.js';
import type { RemoteKey } from '../hash.js';

export type RemoteEntity = Record<string, unknown>;

/** What a fetch found, keyed by `hashKey(key)`. */
export type FetchedEntities = Map<string, RemoteEntity>;

/** The remote store did not answer (down, timed out, circuit open, or the query failed). */
export class SourceUnavailableError extends Error {
  constructor(
    readonly source: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SourceUnavailableError';
  }
}

/**
 * Where the entities of remote types live. Adding a kind of store is one file implementing this.
 */
export interface RemoteSource {
  readonly name: string;
  /**
   * Fetches the entities with these keys: one remote query per chunk of keys. The result maps
   * `hashKey(key)` to the entity (field names as in the remote type); keys the store does not have
   * are absent. Throws SourceUnavailableError when the store cannot answer.
   */
  fetchMany(type: RemoteTypeDef, keys: RemoteKey[]): Promise<FetchedEntities>;
  /** Pages through the entities of a type in key order; `after` is the last key's hash-free value (single-field keys). */
  list(type: RemoteTypeDef, first: number, after?: string): Promise<RemoteEntity[]>;
  /** Called with a short description of every remote query sent (for statement counts in tests and benches). */
  onQuery(listener: (query: string) => void): () => void;
  close(): Promise<void>;
}
