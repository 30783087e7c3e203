import type { Db } from '../data/db.js';
import { DomainError } from '../engine/errors.js';
import type { RelationshipSchema, RemoteTypeDef } from '../model/model.js';
import { hashKey, type RemoteKey } from './hash.js';
import { addSeconds } from '../data/time.js';
import { entityProblem } from './entity-check.js';
import type { ReadMark } from './remote-ref-store.js';
import { SourceUnavailableError, type RemoteEntity, type RemoteSource } from './sources/source.js';

/** What every remote-reference operation works with. */
export interface RemoteContext {
  db: Db;
  schema: RelationshipSchema;
  sources: Map<string, RemoteSource>;
  /** A read refetches a row flagged deleted once its last check is this old (healing without a sweep). */
  deletedRecheckMs?: number;
  /** How far ahead of now a change event may be dated (CHANGE_FEED_MAX_CLOCK_SKEW_SECONDS). */
  maxClockSkewSeconds?: number;
}

export const DEFAULT_MAX_CLOCK_SKEW_SECONDS = 300;

/**
 * The entities found (normalized), keyed by hashKey; `refused`: what the store answered for a key
 * that does not fit the type (why), neither found nor gone; `read`: when the read began, on the
 * operational store's clock.
 */
export type Fetched = Map<string, RemoteEntity> & { read: ReadMark; refused: Map<string, string> };

/** Now on the operational store's clock, as the start of a read of a store. */
export async function readMark(ctx: RemoteContext): Promise<ReadMark> {
  const startedAt = await ctx.db.now();
  return { startedAt, horizon: addSeconds(startedAt, ctx.maxClockSkewSeconds ?? DEFAULT_MAX_CLOCK_SKEW_SECONDS) };
}

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
 * Fetches from the type's store. The read is placed on the operational store's clock, read before
 * the call: never on a store's or a replica's own clock. Entities that do not fit the type are
 * refused (with the reason), not returned.
 */
export async function fetchEntities(ctx: RemoteContext, type: RemoteTypeDef, keys: RemoteKey[]): Promise<Fetched> {
  const read = await readMark(ctx);
  let found: Map<string, RemoteEntity>;
  try {
    found = await sourceOf(ctx, type).fetchMany(type, keys);
  } catch (e) {
    if (e instanceof SourceUnavailableError) {
      throw new DomainError('REMOTE_SOURCE_UNAVAILABLE', `The store holding ${type.name} (${type.source}) is unavailable: ${e.message}`, {
        entityType: type.name,
        source: type.source,
      });
    }
    throw e;
  }
  const byHash = new Map(keys.map((k) => [hashKey(k), k]));
  const out = Object.assign(new Map<string, RemoteEntity>(), { read, refused: new Map<string, string>() });
  for (const [hash, entity] of found) {
    const key = byHash.get(hash);
    if (!key) continue;
    const problem = entityProblem(type, entity);
    if (problem) out.refused.set(hash, `${type.source} answered ${keyLabel(type, key)} that does not fit its type: ${problem}`);
    else out.set(hash, normalizeEntity(type, key, entity));
  }
  return out;
}

/**
 * A page of a type's entities in key order, browsing its store. Checked as fetched entities are:
 * an entity that does not fit the type is refused (REMOTE_SOURCE_UNAVAILABLE, with why), never
 * served, so that browsing never shows what a lookup of the same key refuses (issue 17).
 */
export async function browseEntities(ctx: RemoteContext, type: RemoteTypeDef, first: number, after?: string): Promise<RemoteEntity[]> {
  let page: RemoteEntity[];
  try {
    page = await sourceOf(ctx, type).list(type, first, after);
  } catch (e) {
    if (e instanceof SourceUnavailableError) {
      throw new DomainError('REMOTE_SOURCE_UNAVAILABLE', `The store holding ${type.name} (${type.source}) is unavailable: ${e.message}`, {
        entityType: type.name,
        source: type.source,
      });
    }
    throw e;
  }
  return page.map((entity) => {
    const key = Object.fromEntries(type.key.map((f) => [f, String(entity[f] ?? '')]));
    const problem = entityProblem(type, entity);
    if (problem) {
      throw new DomainError(
        'REMOTE_SOURCE_UNAVAILABLE',
        `${type.source} answered ${keyLabel(type, key)} that does not fit its type: ${problem}`,
        {
          entityType: type.name,
          source: type.source,
        },
      );
    }
    return normalizeEntity(type, key, entity);
  });
}

export const keyLabel = (type: RemoteTypeDef, key: RemoteKey) => `${type.name} ${JSON.stringify(key)}`;
export { hashKey };
