import {
  getNamedType,
  isAbstractType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';

/**
 * Selections generated from the served schema, so a new field or kind is read without anyone
 * listing it: every field of a type down to a depth, every possible type of an abstract one.
 */

/** The page generated selections ask of every list that takes `first`. */
const NESTED_PAGE = 3;

/** Arguments a generated selection can fill: a required `DateTime` is `$at`; other required arguments skip the field. */
function argsOf(field: GraphQLField<unknown, unknown>): string | null {
  const required = field.args.filter((a) => isNonNullType(a.type) && a.defaultValue === undefined);
  // Nested lists at a small page: every field two levels down under every kind at the default page
  // of 100 is an answer of gigabytes, and a few items each show whether the paths agree.
  if (!required.length) return field.args.some((a) => a.name === 'first') ? `(first: ${NESTED_PAGE})` : '';
  if (required.length === 1 && getNamedType(required[0].type).name === 'DateTime') return `(${required[0].name}: $at)`;
  return null;
}

/** Every field of `type` (and, below abstract types, of each possible type); composite fields only while depth > 0. */
export function selectionOf(schema: GraphQLSchema, type: GraphQLNamedType, depth: number): string {
  if (isAbstractType(type)) {
    return `__typename ${schema
      .getPossibleTypes(type)
      .map((t) => `... on ${t.name} { ${selectionOf(schema, t, depth)} }`)
      .join(' ')}`;
  }
  if (!isObjectType(type) && !isInterfaceType(type)) return '';
  const parts = ['__typename'];
  for (const field of Object.values(type.getFields())) {
    const args = argsOf(field);
    if (args === null) continue;
    const named = getNamedType(field.type);
    if (isLeafType(named)) parts.push(`${field.name}${args}`);
    else if (depth > 0) parts.push(`${field.name}${args} { ${selectionOf(schema, named, depth - 1)} }`);
  }
  return parts.join(' ');
}

/** The object types implementing `Resource`: the kinds. */
export const kindTypes = (schema: GraphQLSchema): readonly GraphQLObjectType[] => {
  const resource = schema.getType('Resource');
  return resource && isInterfaceType(resource) ? schema.getPossibleTypes(resource) : [];
};

/** Whether a field returns a list (under non-null). */
export const returnsList = (field: GraphQLField<unknown, unknown>) =>
  isListType(isNonNullType(field.type) ? field.type.ofType : field.type);
