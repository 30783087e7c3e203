/**
 * The attributes of a relationship-schema entry that only shape the derived GraphQL API (names,
 * scopes, descriptions, list sizes). The loader does not carry them yet, so they are read here
 * from the plain JSON object of the relationship schema; once `load.ts` and the JSON Schema know
 * them, `apiAttributesOf` can read them from the model instead and this file shrinks to the types.
 */

/** What a remote type's field holds; `type` defaults to string, `nullable` to true (key fields never are). */
export interface RemoteFieldApi {
  type?: RemoteFieldType;
  nullable?: boolean;
  description?: string;
}
export type RemoteFieldType = 'string' | 'id' | 'integer' | 'number' | 'boolean';
const REMOTE_FIELD_TYPES: readonly RemoteFieldType[] = ['string', 'id', 'integer', 'number', 'boolean'];

export interface ReferenceApi {
  description?: string;
  /** `@listSize(assumedSize:)` of a list reference (default 10). */
  assumedSize?: number;
}

export interface KindApi {
  /** Query field of one resource (default: the kind's name with a lower-case first letter). */
  fieldName?: string;
  /** Query field of the list (default: fieldName + "s"). */
  plural?: string;
  /** Scope of create and update (default integrity:write). */
  writeScope?: string;
  /** Whether `approveK(id)` and `K.approval` exist. */
  approvable?: boolean;
  /** Description of the object type. */
  description?: string;
  /** Name of the list of this kind on its parent (default: plural). */
  childrenField?: string;
  /** `@listSize(assumedSize:)` of that list: how many of this kind one parent usually holds (default 10). */
  assumedSize?: number;
  references?: Record<string, ReferenceApi>;
  remoteReferences?: Record<string, { description?: string }>;
}

export interface RemoteTypeApi {
  /** Browse query field (default: the type's name camel-cased, plus "s"). */
  plural?: string;
  description?: string;
  /** The same entries as the remote cache's `fieldTypes`, with a `type` and a `description`. */
  fieldTypes?: Record<string, RemoteFieldApi>;
}

export interface ApiAttributes {
  kinds: Record<string, KindApi>;
  remoteTypes: Record<string, RemoteTypeApi>;
}

export const NO_API_ATTRIBUTES: ApiAttributes = { kinds: {}, remoteTypes: {} };

/** Raised for an attribute of the wrong shape; `path` is a JSON path into the relationship schema. */
export class ApiAttributeError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`at ${path}: ${problem}`);
    this.name = 'ApiAttributeError';
  }
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function pick<T>(o: Json, key: string, path: string, check: (v: unknown) => v is T, what: string): T | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (!check(v)) throw new ApiAttributeError(`${path}.${key}`, `must be ${what}`);
  return v;
}
const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
const isSize = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 10_000;
const isFieldType = (v: unknown): v is RemoteFieldType => REMOTE_FIELD_TYPES.includes(v as RemoteFieldType);

function entries(o: Json, key: string, path: string): Array<[string, Json, string]> {
  const v = o[key];
  if (v === undefined) return [];
  if (!isObject(v)) throw new ApiAttributeError(`${path}.${key}`, 'must be an object');
  return Object.entries(v).map(([k, e]) => {
    if (!isObject(e)) throw new ApiAttributeError(`${path}.${key}.${k}`, 'must be an object');
    return [k, e, `${path}.${key}.${k}`];
  });
}

/** Drops undefined members, so attributes merge without one side's absent value hiding the other's. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The API attributes of a relationship schema given as its parsed JSON; unknown attributes are ignored. */
export function readApiAttributes(raw: unknown): ApiAttributes {
  if (!isObject(raw)) throw new ApiAttributeError('$', 'must be an object');
  const out: ApiAttributes = { kinds: {}, remoteTypes: {} };
  for (const [name, k, at] of entries(raw, 'kinds', '$')) {
    const references: Record<string, ReferenceApi> = {};
    for (const [field, r, rat] of entries(k, 'references', at)) {
      references[field] = defined({
        description: pick(r, 'description', rat, isString, 'a non-empty string'),
        assumedSize: pick(r, 'assumedSize', rat, isSize, 'an integer from 1 to 10000'),
      });
    }
    const remoteReferences: Record<string, { description?: string }> = {};
    for (const [field, r, rat] of entries(k, 'remoteReferences', at)) {
      remoteReferences[field] = defined({ description: pick(r, 'description', rat, isString, 'a non-empty string') });
    }
    out.kinds[name] = defined({
      fieldName: pick(k, 'fieldName', at, isString, 'a non-empty string'),
      plural: pick(k, 'plural', at, isString, 'a non-empty string'),
      writeScope: pick(k, 'writeScope', at, isString, 'a non-empty string'),
      approvable: pick(k, 'approvable', at, isBoolean, 'true or false'),
      description: pick(k, 'description', at, isString, 'a non-empty string'),
      childrenField: pick(k, 'childrenField', at, isString, 'a non-empty string'),
      assumedSize: pick(k, 'assumedSize', at, isSize, 'an integer from 1 to 10000'),
      references,
      remoteReferences,
    });
  }
  for (const [name, t, at] of entries(raw, 'remoteTypes', '$')) {
    const fieldTypes: Record<string, RemoteFieldApi> = {};
    for (const [field, f, fat] of entries(t, 'fieldTypes', at)) {
      fieldTypes[field] = defined({
        type: pick(f, 'type', fat, isFieldType, `one of ${REMOTE_FIELD_TYPES.join(', ')}`),
        nullable: pick(f, 'nullable', fat, isBoolean, 'true or false'),
        description: pick(f, 'description', fat, isString, 'a non-empty string'),
      });
    }
    out.remoteTypes[name] = defined({
      plural: pick(t, 'plural', at, isString, 'a non-empty string'),
      description: pick(t, 'description', at, isString, 'a non-empty string'),
      fieldTypes,
    });
  }
  return out;
}

/** `over` wins attribute by attribute (nested maps merged), for a file plus an overlay of additions. */
export function mergeApiAttributes(base: ApiAttributes, over: ApiAttributes): ApiAttributes {
  const mergeMaps = <T extends object>(a: Record<string, T>, b: Record<string, T>, deep: (x: T, y: T) => T) => {
    const out: Record<string, T> = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = a[k] ? deep(a[k], v) : v;
    return out;
  };
  const flat = <T extends object>(x: T, y: T): T => ({ ...x, ...y });
  return {
    kinds: mergeMaps(base.kinds, over.kinds, (a, b) => ({
      ...a,
      ...b,
      references: mergeMaps(a.references ?? {}, b.references ?? {}, flat),
      remoteReferences: mergeMaps(a.remoteReferences ?? {}, b.remoteReferences ?? {}, flat),
    })),
    remoteTypes: mergeMaps(base.remoteTypes, over.remoteTypes, (a, b) => ({
      ...a,
      ...b,
      fieldTypes: mergeMaps(a.fieldTypes ?? {}, b.fieldTypes ?? {}, flat),
    })),
  };
}
