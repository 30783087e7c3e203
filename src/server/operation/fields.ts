import {
  getArgumentValues,
  getNamedType,
  getVariableValues,
  isAbstractType,
  isInterfaceType,
  isObjectType,
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

/** One field of an operation as the executor would meet it. */
export interface SelectedField {
  node: FieldNode;
  /** The type it is selected on: the enclosing field's type or a fragment's type condition. */
  parent: GraphQLCompositeType;
  /** Its definition on `parent` (meta fields such as `__typename` included). */
  def: GraphQLField<unknown, unknown>;
  /** True for `__typename`, `__schema` and `__type`. */
  meta: boolean;
  /** True when `parent` is the operation's root type. */
  atRoot: boolean;
  /** The arguments coerced as the executor coerces them (defaults, variables); throws a GraphQLError when they do not coerce. */
  args(): Record<string, unknown>;
}

/** Something in the document the walk cannot resolve against the schema: callers refuse the operation. */
export class UnresolvableSelection extends Error {}

export type CoercedVariables = { ok: true; values: Record<string, unknown> } | { ok: false; message: string };

/** Coercions already made, by the request's raw variables and the operation: each check of one request reads the same. */
const coercions = new WeakMap<object, WeakMap<OperationDefinitionNode, { schema: GraphQLSchema; result: CoercedVariables }>>();

/**
 * The operation's variables coerced against its definitions, exactly as graphql-js execution
 * does. Coercing is linear in the variables' size (a 4 MB list of inputs takes most of a second),
 * so it is done once per request and shared by the checks (access control, the limits): the
 * result is remembered for the raw variables object the request carries. Callers must not change it.
 */
export function coerceVariables(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  raw: Record<string, unknown> | undefined,
): CoercedVariables {
  if (!raw) return coerce(schema, operation, {});
  let byOperation = coercions.get(raw);
  if (!byOperation) {
    byOperation = new WeakMap();
    coercions.set(raw, byOperation);
  }
  const known = byOperation.get(operation);
  if (known?.schema === schema) return known.result;
  const result = coerce(schema, operation, raw);
  byOperation.set(operation, { schema, result });
  return result;
}

function coerce(schema: GraphQLSchema, operation: OperationDefinitionNode, raw: Record<string, unknown>): CoercedVariables {
  const result = getVariableValues(schema, operation.variableDefinitions ?? [], raw, { maxErrors: 1 });
  return result.errors ? { ok: false, message: result.errors[0].message } : { ok: true, values: result.coerced };
}

/**
 * Every field of an operation with its parent type and coerced arguments, through named and
 * inline fragments on any type. `@skip` and `@include` are ignored: every field written is
 * visited, an over-approximation of what runs (a checker that uses it fails closed). A named
 * fragment is visited once, however often it is spread: its fields and their parent types do
 * not depend on where it is spread, so nothing is missed and repeated spreads cost nothing.
 */
export function selectedFields(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): SelectedField[] {
  const root = schema.getRootType(operation.operation);
  if (!root) throw new UnresolvableSelection(`this schema has no ${operation.operation} type`);
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const visited = new Set<string>();
  const out: SelectedField[] = [];

  const compositeType = (name: string): GraphQLCompositeType => {
    const type = schema.getType(name);
    if (!type || !(isObjectType(type) || isAbstractType(type)))
      throw new UnresolvableSelection(`${name.slice(0, 64)} is not a composite type of this schema`);
    return type;
  };

  function definition(parent: GraphQLCompositeType, name: string): { def: GraphQLField<unknown, unknown>; meta: boolean } {
    if (name === TypeNameMetaFieldDef.name) return { def: TypeNameMetaFieldDef, meta: true };
    if (parent === root && name === SchemaMetaFieldDef.name) return { def: SchemaMetaFieldDef, meta: true };
    if (parent === root && name === TypeMetaFieldDef.name) return { def: TypeMetaFieldDef, meta: true };
    const def = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
    if (!def) throw new UnresolvableSelection(`${parent.name} has no field ${name.slice(0, 64)}`);
    return { def, meta: false };
  }

  // Depth-first, in document order (a plain loop: nested generators cost microseconds per field).
  function walk(set: SelectionSetNode, parent: GraphQLCompositeType): void {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        const { def, meta } = definition(parent, sel.name.value);
        out.push({ node: sel, parent, def, meta, atRoot: parent === root, args: () => getArgumentValues(def, sel, variables) });
        if (sel.selectionSet) {
          const named = getNamedType(def.type);
          if (!(isObjectType(named) || isAbstractType(named)))
            throw new UnresolvableSelection(`${parent.name}.${def.name} has no fields to select`);
          walk(sel.selectionSet, named);
        }
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        walk(sel.selectionSet, sel.typeCondition ? compositeType(sel.typeCondition.name.value) : parent);
      } else {
        const name = sel.name.value;
        if (visited.has(name)) continue;
        visited.add(name);
        const fragment = fragments.get(name);
        if (!fragment) throw new UnresolvableSelection(`fragment ${name.slice(0, 64)} is not defined`);
        walk(fragment.selectionSet, compositeType(fragment.typeCondition.name.value));
      }
    }
  }

  walk(operation.selectionSet, root);
  return out;
}
