import { enumTypeName } from './api-names.js';

/**
 * The GraphQL type of a content field, read from its JSON Schema fragment: string, integer,
 * number and boolean map to the built-in scalars, a string `enum` to a generated enum type, an
 * array to a list of its items' type, and anything else (objects, untyped items) to `JSON`.
 */
export interface ContentFieldType {
  /** Named type of the value, or of the items of a list. */
  named: string;
  list: boolean;
  /** Set when `named` is an enum type generated for this field. */
  enumValues: string[] | null;
  description: string | null;
}

const SCALARS: Record<string, string> = { string: 'String', integer: 'Int', number: 'Float', boolean: 'Boolean' };
/** The names GraphQL gives no enum value: the spec forbids them. */
const NOT_ENUM_VALUES = new Set(['true', 'false', 'null']);
export const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

type Fragment = Record<string, unknown>;

/** Values of a string enum that GraphQL can spell as enum values; null when there is no such enum. */
export function stringEnum(fragment: Fragment): { values: string[]; unusable: unknown[] } | null {
  if (fragment.type !== 'string' || !Array.isArray(fragment.enum)) return null;
  const values = fragment.enum as unknown[];
  const unusable = values.filter((v) => typeof v !== 'string' || !GRAPHQL_NAME.test(v) || NOT_ENUM_VALUES.has(v));
  return { values: values.filter((v): v is string => !unusable.includes(v)), unusable };
}

function itemType(kind: string, field: string, fragment: Fragment): Pick<ContentFieldType, 'named' | 'enumValues'> {
  const e = stringEnum(fragment);
  // An enum GraphQL cannot spell falls back to its JSON Schema type; the name check reports it.
  if (e && e.unusable.length === 0 && e.values.length > 0) return { named: enumTypeName(kind, field), enumValues: e.values };
  const scalar = typeof fragment.type === 'string' ? SCALARS[fragment.type] : undefined;
  return { named: scalar ?? 'JSON', enumValues: null };
}

export function contentFieldType(kind: string, field: string, fragment: Fragment): ContentFieldType {
  const description = typeof fragment.description === 'string' ? fragment.description : null;
  if (fragment.type === 'array') {
    const items = fragment.items;
    const item =
      typeof items === 'object' && items !== null && !Array.isArray(items)
        ? itemType(kind, field, items as Fragment)
        : { named: 'JSON', enumValues: null };
    return { ...item, list: true, description };
  }
  return { ...itemType(kind, field, fragment), list: false, description };
}

/** As an output field: a list answers [] when unset, so it is never null; a single value may be. */
export const outputType = (t: ContentFieldType) => (t.list ? `[${t.named}!]!` : t.named);
/** As an input field: always optional (omitted on update means unchanged; null clears). */
export const inputType = (t: ContentFieldType) => (t.list ? `[${t.named}!]` : t.named);
