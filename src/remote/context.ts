import type { Db } from '../data/db.js';
import { DomainError } from '../engine/errors.js';
import type { RelationshipSchema, RemoteTypeDef } from '../engine/schema/model.js';
import { hashKey, type RemoteKey } from './hash.js';
import { readPosition, type SourcePosition } from './position.js';
import { SourceUnavailableError, type RemoteEntity, type RemoteSource } from './sources/source.js';

/** What every remote-reference operation works with. */
export interface RemoteContext {
  db: Db;
  schema: RelationshipSchema;
  sources: Map<string, RemoteSource>;
  /** A read refetches a row flagged deleted once its last check is this old (healing without a sweep). */
  deletedRecheckMs?: number;
}

/** The entities found, keyed by hashKey, and the source position the read is as of. */
export type Fetched = Map<string, RemoteEntity> & { position: SourcePosition };

export function sourceOf(ctx: RemoteContext, type: RemoteTypeDef): RemoteSource {
  const source = ctx.sources.get(type.source);
  if (!source) throw new Error(`no source "${type.source}" for remote type ${type.name}`);
  return source;
}

/** Only the key fields, as strings: what is hashed and stored as the key payload. */
export function normalizeKey(type: RemoteTypeDef, value: unknown): RemoteKey {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new DomainError('BAD_USER_INPUT', `${type.name} key must be an object with ${type.key.join(', ')}`);
  }
  const v = value as Record<string, unknown>;
  const extra = Object.keys(v).filter((k) => !type.key.includes(k));
  if (extra.length) throw new DomainError('BAD_USER_INPUT', `${type.name} key has unknown fields: ${extra.join(', ')}`);
  const key: RemoteKey = {};
  for (const field of type.key) {
    const f = v[field];
    if ((typeof f !== 'string' && typeof f !== 'number') || String(f).length === 0 || String(f).length > 255) {
      throw new DomainError('BAD_USER_INPUT', `${type.name} key field ${field} must be a non-empty string of at most 255 characters`);
    }
    key[field] = String(f);
  }
  return key;
}

/** The entity as stored in the cache: the remote type's fields only, with the key fields present. */
export function normalizeEntity(type: RemoteTypeDef, key: RemoteKey, entity: RemoteEntity): RemoteEntity {
  const out: RemoteEntity = {};
  for (const f of type.fields) out[f] = entity[f] ?? null;
  Object.assign(out, key);
  return out;
}

/**
 * Fetches from the type's store. The position is the store's clock when the read began, or this
 * host's clock before the call for stores without one (a subgraph).
 */
export async function fetchEntities(ctx: RemoteContext, type: RemoteTypeDef, keys: RemoteKey[]): Promise<Fetched> {
  const before = Date.now();
  try {
    const found = await sourceOf(ctx, type).fetchMany(type, keys);
    return Object.assign(found, { position: readPosition(found.readAtMs ?? before) });
  } catch (e) {
    if (e instanceof SourceUnavailableError) {
      throw new DomainError('REMOTE_SOURCE_UNAVAILABLE', `The store holding ${type.name} (${type.source}) is unavailable: ${e.message}`, {
        entityType: type.name,
        source: type.source,
      });
    }
    throw e;
  }
}

export const keyLabel = (type: RemoteTypeDef, key: RemoteKey) => `${type.name} ${JSON.stringify(key)}`;
export { hashKey };
