import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';

/**
 * A placeholder value of an input type (required input fields only): enough to pass validation,
 * not to find anything. Lists are empty, or hold one placeholder item.
 */
export function placeholder(type: GraphQLInputType, lists: 'empty' | 'one item' = 'empty'): unknown {
  if (isNonNullType(type)) return placeholder(type.ofType, lists);
  if (isListType(type)) return lists === 'empty' ? [] : [placeholder(type.ofType, lists)];
  if (isEnumType(type)) return type.getValues()[0].value;
  if (isInputObjectType(type)) {
    return Object.fromEntries(
      Object.values(type.getFields())
        .filter((f) => isNonNullType(f.type))
        .map((f) => [f.name, placeholder(f.type, lists)]),
    );
  }
  if (isScalarType(type)) {
    switch (type.name) {
      case 'Int':
        return 1;
      case 'Float':
        return 1.5;
      case 'Boolean':
        return true;
      case 'DateTime':
        return '2026-01-01T00:00:00Z';
      case 'JSON':
        return { employeeId: 'nobody' };
      default:
        return 'no-such-thing';
    }
  }
  return null;
}

export interface RootOperation {
  /** e.g. `Mutation.createProject` */
  name: string;
  field: string;
  query: string;
  variables: Record<string, unknown>;
}

/**
 * One operation per root field of the served schema (federation's own fields left out), with
 * placeholder variables for the required arguments: new fields are covered without editing tests.
 */
export function rootOperations(schema: GraphQLSchema): RootOperation[] {
  const out: RootOperation[] = [];
  for (const [keyword, root] of [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
  ] as const) {
    if (!root) continue;
    for (const field of Object.values(root.getFields()) as GraphQLField<unknown, unknown>[]) {
      if (field.name.startsWith('_')) continue;
      const required = field.args.filter((a) => isNonNullType(a.type));
      const decl = required.map((a) => `$${a.name}: ${a.type.toString()}`).join(', ');
      const args = required.map((a) => `${a.name}: $${a.name}`).join(', ');
      const leaf = isScalarType(getNamedType(field.type)) || isEnumType(getNamedType(field.type));
      out.push({
        name: `${root.name}.${field.name}`,
        field: field.name,
        query: `${keyword}${decl ? ` (${decl})` : ''} { ${field.name}${args ? `(${args})` : ''}${leaf ? '' : ' { __typename }'} }`,
        variables: Object.fromEntries(required.map((a) => [a.name, placeholder(a.type)])),
      });
    }
  }
  return out;
}
