import type { KindDef, ReferenceDef, RelationshipSchema, RemoteTypeDef } from './model.js';

/**
 * Every name the API of one kind or remote type is made of, in one place: the SDL derivation and
 * the collision check read the same answers, so a name can never be generated without being checked.
 */

export const DEFAULT_WRITE_SCOPE = 'integrity:write';
export const READ_SCOPE = 'integrity:read';
export const APPROVE_SCOPE = 'integrity:approve';
export const DEFAULT_ASSUMED_SIZE = 10;
/** Default page of plain lists and connections, as today's lists. */
export const DEFAULT_PAGE = 100;
/** Default page of a remote type's browse query, as today's `employees`. */
export const DEFAULT_BROWSE_PAGE = 50;
/** The type every connection's `pageInfo` has; generated with the connections, so no kind may take it. */
export const PAGE_INFO = 'PageInfo';

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);
export const upperFirst = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export interface KindNames {
  type: string;
  /** `k`: one resource by identity. */
  field: string;
  /** `ks`: the plain list. */
  plural: string;
  connectionField: string;
  connectionType: string;
  edgeType: string;
  createInput: string;
  updateInput: string;
  create: string;
  update: string;
  /** `approveK`, for approvable kinds. */
  approve: string | null;
  /** This kind's list on its parent type, for child kinds. */
  childrenField: string | null;
  writeScope: string;
}

export function kindNames(kind: KindDef): KindNames {
  const api = kind.api;
  const field = api.fieldName ?? lowerFirst(kind.name);
  const plural = api.plural ?? `${field}s`;
  const K = kind.name;
  return {
    type: K,
    field,
    plural,
    connectionField: `${plural}Connection`,
    connectionType: `${K}Connection`,
    edgeType: `${K}Edge`,
    createInput: `Create${K}Input`,
    updateInput: `Update${K}Input`,
    create: `create${K}`,
    update: `update${K}`,
    approve: api.approvable ? `approve${K}` : null,
    childrenField: kind.parent ? (api.childrenField ?? plural) : null,
    writeScope: api.writeScope ?? DEFAULT_WRITE_SCOPE,
  };
}

/** Whether `updateK` exists: an input object needs a field, and identity never changes. */
export const hasUpdate = (kind: KindDef) => updateInputFieldNames(kind).length > 0;

/** The fields `Update<K>Input` takes (content, references, remote references), in the SDL's order. */
export const updateInputFieldNames = (kind: KindDef): string[] => [
  ...Object.keys(kind.fields),
  ...kind.references.map((r) => r.field),
  ...kind.remoteReferences.map((r) => r.field),
];

/**
 * The input type a reference takes, when its value has more than one field: `<Target>Key` for the
 * target's whole identity, `<Target>KeyIn<Scope...>` when the referrer's identity fixes some of it
 * (two references to one target with different scopes must not share an input type).
 */
export function referenceKeyInput(ref: ReferenceDef): string | null {
  if (ref.valueFields.length === 1) return null;
  return ref.scope.length === 0 ? `${ref.kind}Key` : `${ref.kind}KeyIn${ref.scope.map(upperFirst).join('')}`;
}

export interface RemoteTypeNames {
  type: string;
  refType: string;
  keyInput: string;
  browseField: string;
}

export function remoteTypeNames(t: RemoteTypeDef): RemoteTypeNames {
  return {
    type: t.name,
    refType: `${t.name}Ref`,
    keyInput: `${t.name}Key`,
    browseField: t.plural ?? `${lowerFirst(t.name)}s`,
  };
}

/** Enum type generated for a content field whose JSON Schema (or its items) is a string enum. */
export const enumTypeName = (kind: string, field: string) => `${kind}${upperFirst(field)}`;

/** Kinds in the relationship schema's order: the SDL reads as the file does. */
export const kindsOf = (schema: RelationshipSchema) => [...schema.kinds.values()];
export const remoteTypesOf = (schema: RelationshipSchema) => [...schema.remoteTypes.values()];
