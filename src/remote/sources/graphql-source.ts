import type { RemoteTypeDef } from '../../model/model.js';
import { hashKey, type RemoteKey } from '../hash.js';
import { outageReason } from '../../util/outage.js';
import { SourceUnavailableError, type FetchedEntities, type RemoteEntity, type RemoteSource } from './source.js';

/**
 * A request the source can never serve, however often it is retried. `permanent` tells the
 * resilience wrapper not to retry it nor count it against the circuit breaker.
 */
export class UnsupportedBySourceError extends SourceUnavailableError {
  readonly permanent = true;
}

export interface GraphqlSourceOptions {
  /** Keys per `_entities` request. */
  chunkSize?: number;
  /** Aborts the HTTP request itself (the resilience timeout only stops waiting for it). */
  timeoutMs?: number;
  headers?: Record<string, string>;
}

const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/** Fetches entities from another federated subgraph through its `_entities` field. */
export class GraphqlSource implements RemoteSource {
  private readonly listeners = new Set<(query: string) => void>();
  private readonly chunkSize: number;
  private closed = false;

  constructor(
    readonly name: string,
    readonly url: string,
    private readonly options: GraphqlSourceOptions = {},
  ) {
    new URL(url); // fails early on a malformed URL
    this.chunkSize = options.chunkSize ?? 500;
  }

  onQuery(listener: (query: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async fetchMany(type: RemoteTypeDef, keys: RemoteKey[]): Promise<FetchedEntities> {
    for (const f of [type.typename, ...type.fields]) if (!NAME.test(f)) throw new Error(`"${f}" is not a GraphQL name`);
    const unique = new Map<string, RemoteKey>();
    for (const key of keys) {
      const k: RemoteKey = {};
      for (const f of type.key) {
        if (typeof key[f] !== 'string') throw new TypeError(`a key of ${type.name} lacks field "${f}"`);
        k[f] = key[f];
      }
      unique.set(hashKey(k), k);
    }
    const query =
      `query RemoteEntities($representations: [_Any!]!) { _entities(representations: $representations) ` +
      `{ ... on ${type.typename} { ${type.fields.join(' ')} } } }`;
    const out = new Map<string, RemoteEntity>();
    const all = [...unique.entries()];
    for (let i = 0; i < all.length; i += this.chunkSize) {
      const chunk = all.slice(i, i + this.chunkSize);
      const representations = chunk.map(([, k]) => ({ __typename: type.typename, ...k }));
      const entities = await this.post(query, { representations }, `_entities(${type.typename} × ${chunk.length})`);
      if (!Array.isArray(entities) || entities.length !== chunk.length) {
        throw this.unavailable(
          `_entities returned ${Array.isArray(entities) ? entities.length : typeof entities} items for ${chunk.length} keys`,
        );
      }
      // The answer is positional: entry i is the entity for representation i, null when not found.
      entities.forEach((entity, j) => {
        if (entity && typeof entity === 'object') out.set(chunk[j][0], entity as RemoteEntity);
      });
    }
    return out;
  }

  list(type: RemoteTypeDef, _first?: number, _after?: string): Promise<RemoteEntity[]> {
    return Promise.reject(
      new UnsupportedBySourceError(
        this.name,
        `${this.name} subgraph cannot list entities of ${type.name}: federation has no list operation`,
      ),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private unavailable(reason: string, cause?: unknown): SourceUnavailableError {
    return new SourceUnavailableError(this.name, `${this.name} subgraph unavailable: ${reason}`, { cause });
  }

  private async post(query: string, variables: Record<string, unknown>, description: string): Promise<unknown> {
    if (this.closed) throw this.unavailable('source is closed');
    for (const l of this.listeners) {
      try {
        l(`POST ${this.url} ${description}`);
      } catch {
        // A listener's bug must not fail the read.
      }
    }
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...this.options.headers },
        body: JSON.stringify({ query, variables }),
        signal: this.options.timeoutMs ? AbortSignal.timeout(this.options.timeoutMs) : undefined,
      });
      text = await res.text();
    } catch (err) {
      // fetch reports "fetch failed"; the useful part (ECONNREFUSED, timeout) is its cause, which stays in the log.
      const aborted = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      throw this.unavailable(aborted ? 'timed out' : (outageReason(err) ?? 'the request failed'), err);
    }
    let body: { data?: { _entities?: unknown } | null; errors?: Array<{ message?: string }> } | undefined;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = undefined;
    }
    if (body?.errors?.length) {
      // The subgraph's own messages may name its internals: they go to the log (as the cause), not to callers.
      throw this.unavailable('it answered with errors', new Error(body.errors.map((e) => e.message ?? 'unknown error').join('; ')));
    }
    if (!res.ok) throw this.unavailable(`HTTP ${res.status} ${res.statusText}`.trim());
    if (!body?.data) throw this.unavailable('the response has no data');
    return body.data._entities;
  }
}
