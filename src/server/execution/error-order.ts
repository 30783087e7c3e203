import {
  getNullableType,
  isListType,
  isNonNullType,
  isObjectType,
  isInterfaceType,
  Kind,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type GraphQLCompositeType,
  type GraphQLError,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

type Path = readonly (string | number)[] | undefined;

/** The keys of `node` when it is an object of the response, for ordering paths through it. */
function keysOf(node: unknown): string[] | undefined {
  return node !== null && typeof node === 'object' && !Array.isArray(node) ? Object.keys(node) : undefined;
}

/**
 * Orders two error paths by where they point in the response: list items by index, fields by the
 * order of their keys in the data (alphabetically where propagation nulled the object that held
 * them); an error without a path (the request's own) first, a parent before its children.
 */
function comparePaths(a: Path, b: Path, data: unknown): number {
  if (!a || !b) return (a ? 1 : 0) - (b ? 1 : 0);
  let node = data;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x !== y) {
      if (typeof x === 'number' && typeof y === 'number') return x - y;
      const keys = keysOf(node);
      const ix = keys ? keys.indexOf(String(x)) : -1;
      const iy = keys ? keys.indexOf(String(y)) : -1;
      if (ix >= 0 && iy >= 0) return ix - iy;
      if (ix >= 0 || iy >= 0) return ix >= 0 ? -1 : 1;
      return String(x) < String(y) ? -1 : 1;
    }
    node = node !== null && typeof node === 'object' ? (node as Record<string | number, unknown>)[x] : undefined;
  }
  return a.length - b.length;
}

/**
 * graphql-js lists errors in the order they happen, which follows the stores' timing: two runs of
 * one query on one state can list them differently (a run whose loaders already hold a failure
 * reports it sooner). Callers get them in the order of the response instead, whichever engine
 * executed; errors at one path keep the order they happened in.
 */
export function inResponseOrder(errors: readonly GraphQLError[], data: unknown): GraphQLError[] {
  return errors
    .map((error, i) => ({ error, i }))
    .sort((p, q) => comparePaths(p.error.path, q.error.path, data) || p.i - q.i)
    .map((p) => p.error);
}

/** The field node answering `key` in a selection set, with the type it is selected on (through fragments). */
function fieldAt(
  set: SelectionSetNode,
  key: string,
  parent: GraphQLCompositeType,
  schema: GraphQLSchema,
  document: DocumentNode,
): { node: FieldNode; on: GraphQLCompositeType } | undefined {
  for (const sel of set.selections) {
    if (sel.kind === Kind.FIELD) {
      if ((sel.alias ?? sel.name).value === key) return { node: sel, on: parent };
      continue;
    }
    const fragment =
      sel.kind === Kind.INLINE_FRAGMENT
        ? sel
        : document.definitions.find((d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === sel.name.value);
    if (!fragment || !('selectionSet' in fragment) || !fragment.selectionSet) continue;
    const condition = 'typeCondition' in fragment && fragment.typeCondition ? schema.getType(fragment.typeCondition.name.value) : parent;
    const found = condition ? fieldAt(fragment.selectionSet, key, condition as GraphQLCompositeType, schema, document) : undefined;
    if (found) return found;
  }
  return undefined;
}

/**
 * Whether an error at `path` made the whole `data` null: every position from the error up to the
 * root is non-null, so nothing on the way could absorb it. Unknown paths count as fatal.
 */
function nulledData(
  path: readonly (string | number)[],
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
): boolean {
  let parent: GraphQLCompositeType | undefined | null = schema.getRootType(operation.operation);
  let set: SelectionSetNode | undefined = operation.selectionSet;
  let type: GraphQLOutputType | undefined;
  for (const step of path) {
    if (typeof step === 'number') {
      const list = type && getNullableType(type);
      if (!list || !isListType(list)) return true;
      type = list.ofType as GraphQLOutputType;
    } else {
      if (!parent || !set) return true;
      const found = fieldAt(set, step, parent, schema, document);
      const def = found && (isObjectType(found.on) || isInterfaceType(found.on)) ? found.on.getFields()[found.node.name.value] : undefined;
      if (!found || !def) return true;
      type = def.type;
      set = found.node.selectionSet;
    }
    if (!isNonNullType(type)) return false;
    const named = getNullableType(type);
    parent = isObjectType(named) || isInterfaceType(named) ? named : parent;
  }
  return true;
}

/**
 * The errors of a result as callers get them, whichever engine executed: in the order of the
 * response, and, when an error made `data` null, only the errors that did. graphql-js builds a
 * nulled answer as soon as the fatal error arrives and keeps whatever other errors happened to
 * come first, which follows the stores' timing; those errors describe parts of an answer that is
 * not there.
 */
export function settledErrors(
  result: ExecutionResult,
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
): ExecutionResult {
  if (!result.errors?.length) return result;
  let errors: readonly GraphQLError[] = result.errors;
  if (result.data === null) {
    const fatal = errors.filter((e) => !e.path || nulledData(e.path, schema, document, operation));
    if (fatal.length) errors = fatal;
  }
  return { ...result, errors: errors.length > 1 ? inResponseOrder(errors, result.data) : [...errors] };
}
