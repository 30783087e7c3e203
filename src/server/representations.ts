import {
  getNamedType,
  GraphQLID,
  isAbstractType,
  isInterfaceType,
  isLeafType,
  isObjectType,
  Kind,
  parse,
  type GraphQLInterfaceType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import { badInput } from '../engine/errors.js';

/** Longest key value a representation may carry: no id, name or remote key of this subgraph comes near it. */
export const MAX_KEY_VALUE_LENGTH = 1000;

type EntityType = GraphQLObjectType | GraphQLInterfaceType;
interface Entity {
  type: EntityType;
  /** Each @key's fields, parsed: `provider { name } name`. */
  keys: { text: string; fields: SelectionSetNode }[];
}

const entitiesOf = new WeakMap<GraphQLSchema, Map<string, Entity>>();

/** The schema's entity types (objects and interfaces with @key) and their keys, read once per schema. */
function entities(schema: GraphQLSchema): Map<string, Entity> {
  let found = entitiesOf.get(schema);
  if (found) return found;
  found = new Map();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) && !isInterfaceType(type)) continue;
    const keys = (type.astNode?.directives ?? [])
      .filter((d) => d.name.value === 'key')
      .flatMap((d) => d.arguments?.filter((a) => a.name.value === 'fields') ?? [])
      .flatMap((a) => (a.value.kind === Kind.STRING ? [a.value.value] : []))
      .map((text) => ({ text, fields: (parse(`{ ${text} }`).definitions[0] as { selectionSet: SelectionSetNode }).selectionSet }));
    if (keys.length) found.set(type.name, { type, keys });
  }
  entitiesOf.set(schema, found);
  return found;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The key's fields of `value` as the resolvers read them (an ID given as an integer becomes its
 * decimal string, as GraphQL coerces ID inputs), or why `value` does not carry that key.
 */
function keyValues(value: Record<string, unknown>, type: EntityType, fields: SelectionSetNode): Record<string, unknown> | string {
  const out: Record<string, unknown> = {};
  for (const sel of fields.selections) {
    if (sel.kind !== Kind.FIELD) return 'a key with fragments';
    const name = sel.name.value;
    const field = type.getFields()[name];
    const v = value[name];
    if (!field) return `${name} is not a field of ${type.name}`;
    if (v === undefined || v === null) return `${name} is missing`;
    const named = getNamedType(field.type);
    if (sel.selectionSet) {
      if (!isRecord(v) || !(isObjectType(named) || isInterfaceType(named))) return `${name} must be an object`;
      const inner = keyValues(v, named, sel.selectionSet);
      if (typeof inner === 'string') return `${name}.${inner}`;
      out[name] = inner;
      continue;
    }
    if (!isLeafType(named) || isAbstractType(named)) return `${name} is not a leaf`;
    if (named === GraphQLID && typeof v === 'number' && Number.isSafeInteger(v)) out[name] = String(v);
    else if (typeof v === 'string') out[name] = v;
    else return `${name} must be a string`;
    if ((out[name] as string).length > MAX_KEY_VALUE_LENGTH) return `${name} is longer than ${MAX_KEY_VALUE_LENGTH} characters`;
  }
  return out;
}

const describe = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v);

/**
 * A representation as `_entities` resolves it: an object whose string `__typename` names an entity
 * type of this schema and that carries every field of one of the type's @keys. Anything else is
 * the caller's mistake (BAD_USER_INPUT naming the item), found before any of them is looked up.
 * Key values are normalized (see keyValues); other fields pass through.
 */
export function checkRepresentation(schema: GraphQLSchema, value: unknown, index: number): Record<string, unknown> {
  const at = `representations[${index}]`;
  if (!isRecord(value))
    throw badInput(`${at} must be an object with __typename and the fields of one of the type's keys, not ${describe(value)}`);
  const typename = value.__typename;
  if (typeof typename !== 'string') throw badInput(`${at} has no __typename naming an entity type`);
  const entity = entities(schema).get(typename);
  if (!entity) throw badInput(`${at}: ${typename.slice(0, 100)} is not an entity type of this subgraph`);
  const problems: string[] = [];
  for (const key of entity.keys) {
    const found = keyValues(value, entity.type, key.fields);
    if (typeof found !== 'string') return { ...value, ...found };
    problems.push(`"${key.text}": ${found}`);
  }
  throw badInput(`${at} does not carry a key of ${typename} (${problems.join('; ')})`);
}
