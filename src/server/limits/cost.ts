import {
  getNamedType,
  getNullableType,
  isAbstractType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  valueFromAST,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

/** What a list without `first` is assumed to hold. The schema test keeps every object list paged. */
export const UNPAGED_LIST_SIZE = 100;

/** The federation `@listSize(assumedSize:)` the SDL declares on a field, if any. */
function assumedSize(def: GraphQLField<unknown, unknown>): number | undefined {
  const d = def.astNode?.directives?.find((x) => x.name.value === 'listSize' || x.name.value === 'federation__listSize');
  const arg = d?.arguments?.find((a) => a.name.value === 'assumedSize');
  return arg?.value.kind === Kind.INT ? Number(arg.value.value) : undefined;
}

/**
 * Estimated cost of an operation: the number of objects it may return, where a list multiplies
 * what is under it by its size: `first` as the caller gives it (literal or variable); without one,
 * the size the SDL assumes for that list (`@listSize(assumedSize:)`, as routers' demand control
 * reads it: children of one parent are few) or else its default page; for `_entities` the number
 * of representations. Scalars cost nothing (they ride on their object).
 *
 * Why not GraphQL Armor's cost-limit: it multiplies only by a literal `first`, so a variable or a
 * schema default (every nested list here has one) counts as 1, and the depth-4 fan-out that
 * motivated these limits would pass. It also runs as a validation rule, and Apollo caches
 * validation per document, so it could never see variables; this runs per request.
 */
export function estimateCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  stopAbove = Infinity,
): number {
  const root = schema.getRootType(operation.operation);
  if (!root) return 0;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  // A fragment costs the same wherever it is spread: computed once, so reuse cannot blow up the estimate's own work.
  const fragmentCost = new Map<string, number>();

  const sizeOf = (def: GraphQLField<unknown, unknown>, node: FieldNode): number => {
    if (def.name === '_entities') {
      const arg = node.arguments?.find((a) => a.name.value === 'representations');
      const reps = arg ? valueFromAST(arg.value, def.args.find((a) => a.name === 'representations')!.type, variables) : undefined;
      return Array.isArray(reps) ? reps.length : UNPAGED_LIST_SIZE;
    }
    if (!isListType(getNullableType(def.type))) return 1;
    const first = def.args.find((a) => a.name === 'first');
    if (!first) return UNPAGED_LIST_SIZE;
    const arg = node.arguments?.find((a) => a.name.value === 'first');
    const value = arg ? valueFromAST(arg.value, first.type, variables) : undefined;
    if (typeof value === 'number' && value >= 0) return value; // a bad value is refused later (BAD_USER_INPUT)
    return assumedSize(def) ?? (typeof first.defaultValue === 'number' ? first.defaultValue : UNPAGED_LIST_SIZE);
  };

  const costOf = (set: SelectionSetNode, parent: GraphQLCompositeType): number => {
    let total = 0;
    for (const sel of set.selections) {
      if (total > stopAbove) return total;
      if (sel.kind === Kind.INLINE_FRAGMENT) {
        const on = sel.typeCondition ? (schema.getType(sel.typeCondition.name.value) as GraphQLCompositeType | undefined) : parent;
        if (on) total += costOf(sel.selectionSet, on);
      } else if (sel.kind === Kind.FRAGMENT_SPREAD) {
        const name = sel.name.value;
        if (!fragmentCost.has(name)) {
          fragmentCost.set(name, 0); // validation forbids cycles; this only guards the recursion
          const f = fragments.get(name);
          const on = f && (schema.getType(f.typeCondition.name.value) as GraphQLCompositeType | undefined);
          fragmentCost.set(name, f && on ? costOf(f.selectionSet, on) : 0);
        }
        total += fragmentCost.get(name)!;
      } else {
        if (!sel.selectionSet || sel.name.value.startsWith('__')) continue; // scalars, introspection
        const def = (isObjectType(parent) || isInterfaceType(parent)) && parent.getFields()[sel.name.value];
        if (!def) continue;
        const type = getNamedType(def.type);
        if (!isObjectType(type) && !isAbstractType(type)) continue;
        total += sizeOf(def, sel) * (1 + costOf(sel.selectionSet, type));
      }
    }
    return total;
  };

  return costOf(operation.selectionSet, root);
}

/**
 * The largest number of items the operation asks of any one root list field, summed over its
 * aliases: fifty aliases of a list at its page cap must not fetch fifty pages in one request.
 */
export function largestRootPage(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): { field: string; items: number } | undefined {
  const root = schema.getRootType(operation.operation);
  if (!root) return undefined;
  const totals = new Map<string, number>();
  for (const sel of operation.selectionSet.selections) {
    if (sel.kind !== Kind.FIELD) continue;
    const def = root.getFields()[sel.name.value];
    const first = def?.args.find((a) => a.name === 'first');
    if (!def || !first || !isListType(getNullableType(def.type))) continue;
    const arg = sel.arguments?.find((a) => a.name.value === 'first');
    const value = arg ? valueFromAST(arg.value, first.type, variables) : first.defaultValue;
    if (typeof value === 'number') totals.set(def.name, (totals.get(def.name) ?? 0) + value);
  }
  let largest: { field: string; items: number } | undefined;
  for (const [field, items] of totals) if (!largest || items > largest.items) largest = { field, items };
  return largest;
}
