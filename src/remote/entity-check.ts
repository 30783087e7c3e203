import type { RemoteTypeDef } from '../model/model.js';

/**
 * Remote entities are checked against their type's columns on every path into the cache (change
 * events, applyRemoteChanges, refetches, saves) and again when a cached copy is read, so that no
 * value the GraphQL types cannot carry (an object where a string belongs, a null `name`) and no
 * oversized value is ever stored or served.
 */

/** A field without a declared length: still bounded (a VARCHAR column of a client table is). */
export const DEFAULT_MAX_LENGTH = 4096;

const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);

/**
 * Why `entity` does not fit `type`, or null when it does. `partial`: a change event may carry only
 * some fields (the rest keep their cached values); otherwise every non-nullable field must be there.
 * Fields the type does not have are refused when `strict` (a caller's input), skipped otherwise
 * (a store's row may have more columns than the type reads).
 */
export function entityProblem(type: RemoteTypeDef, entity: unknown, options: { partial?: boolean; strict?: boolean } = {}): string | null {
  if (!entity || typeof entity !== 'object' || Array.isArray(entity))
    return `${type.name} entity must be an object (got ${typeOf(entity)})`;
  const e = entity as Record<string, unknown>;
  if (options.strict) {
    const unknown = Object.keys(e).filter((f) => !type.fields.includes(f));
    if (unknown.length) return `${type.name} has no field ${unknown.slice(0, 5).join(', ')}`;
  }
  for (const field of type.fields) {
    const declared = type.fieldTypes?.[field];
    const present = Object.hasOwn(e, field) && e[field] !== undefined;
    // Key fields come from the key (normalizeEntity writes them), never from the entity's own values.
    if (type.key.includes(field)) continue;
    if (!present) {
      if (!options.partial && declared?.nullable === false) return `${type.name}.${field} is required`;
      continue;
    }
    const v = e[field];
    if (v === null) {
      if (declared?.nullable === false) return `${type.name}.${field} must not be null`;
      continue;
    }
    const scalar = declared?.type ?? 'string';
    if (scalar === 'integer' || scalar === 'number') {
      if (typeof v !== 'number' || !Number.isFinite(v) || (scalar === 'integer' && !Number.isSafeInteger(v))) {
        return `${type.name}.${field} must be ${scalar === 'integer' ? 'a whole number' : 'a number'} (got ${typeOf(v)})`;
      }
      continue;
    }
    if (scalar === 'boolean') {
      if (typeof v !== 'boolean') return `${type.name}.${field} must be true or false (got ${typeOf(v)})`;
      continue;
    }
    if (typeof v !== 'string') return `${type.name}.${field} must be a string (got ${typeOf(v)})`;
    const max = declared?.maxLength ?? DEFAULT_MAX_LENGTH;
    // Characters as the store counts them (code points), not UTF-16 units.
    if (v.length > max && [...v].length > max) return `${type.name}.${field} is longer than ${max} characters`;
  }
  return null;
}
