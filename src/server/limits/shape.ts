import {
  getNullableType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type ASTNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { argumentsOf, coercedVariables } from './cost.js';

/**
 * The most items the operation asks of one list of one object, summed over the aliases of that
 * list wherever they appear (through fragment spreads and inline fragments, at the root and
 * below): fifty aliases of a list at its page cap must not fetch fifty pages. Selections GraphQL
 * merges (one response path) are one parent; fields of one response key are one list. Lists
 * without an explicit `first` ask for their default page. The walk expands fragments, so it
 * gives up after `maxVisits` fields (`exceeded`): the caller refuses such a document.
 */
export function largestPage(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  rawVariables: Record<string, unknown> | undefined,
  maxVisits = 100_000,
): { field: string; items: number } | 'exceeded' | undefined {
  const root = schema.getRootType(operation.operation);
  const variables = coercedVariables(schema, operation, rawVariables);
  if (!root || !variables) return undefined;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  // response path of the parent → field name → response key → items asked
  const pages = new Map<string, Map<string, Map<string, number>>>();
  let visits = 0;

  const walk = (set: SelectionSetNode, parent: GraphQLCompositeType, path: string, spreads: ReadonlySet<string>): void => {
    for (const sel of set.selections) {
      if (++visits > maxVisits) return;
      if (sel.kind === Kind.INLINE_FRAGMENT) {
        const on = sel.typeCondition ? (schema.getType(sel.typeCondition.name.value) as GraphQLCompositeType | undefined) : parent;
        if (on) walk(sel.selectionSet, on, path, spreads);
      } else if (sel.kind === Kind.FRAGMENT_SPREAD) {
        const f = fragments.get(sel.name.value);
        const on = f && (schema.getType(f.typeCondition.name.value) as GraphQLCompositeType | undefined);
        // Validation forbids cycles; `spreads` only guards the recursion.
        if (f && on && !spreads.has(f.name.value)) walk(f.selectionSet, on, path, new Set([...spreads, f.name.value]));
      } else {
        const def = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[sel.name.value] : undefined;
        if (!def) continue;
        const key = sel.alias?.value ?? sel.name.value;
        if (sel.selectionSet) {
          const child = schema.getType(namedTypeName(def.type)) as GraphQLCompositeType | undefined;
          if (child) walk(sel.selectionSet, child, `${path}/${key}`, spreads);
        }
        if (!def.args.some((a) => a.name === 'first') || !isListType(getNullableType(def.type))) continue;
        const first = argumentsOf(def, sel, variables)?.first;
        if (typeof first !== 'number') continue;
        const fields = pages.get(path) ?? new Map<string, Map<string, number>>();
        pages.set(path, fields);
        const keys = fields.get(def.name) ?? new Map<string, number>();
        fields.set(def.name, keys);
        keys.set(key, Math.max(keys.get(key) ?? 0, first));
      }
    }
  };
  walk(operation.selectionSet, root, '', new Set());
  if (visits > maxVisits) return 'exceeded';
  let largest: { field: string; items: number } | undefined;
  for (const fields of pages.values()) {
    for (const [field, keys] of fields) {
      let items = 0;
      for (const n of keys.values()) items += n;
      if (!largest || items > largest.items) largest = { field, items };
    }
  }
  return largest;
}

function namedTypeName(type: { ofType?: unknown; name?: string }): string {
  let t = type;
  while (t.ofType) t = t.ofType as typeof t;
  return t.name ?? '';
}

/**
 * Directives the operation carries, counting each spread of a fragment with the fragment's own
 * directives and the spread's, every time it is spread. GraphQL Armor's maxDirectives returns a
 * remembered fragment's count for a repeated spread and drops the spread's own directives, so
 * `...F @skip(if: false)` repeated was nearly free.
 */
export function countDirectives(document: DocumentNode, operation: OperationDefinitionNode): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const fragmentCount = new Map<string, number>();
  const count = (node: ASTNode): number => {
    let n = 'directives' in node && node.directives ? node.directives.length : 0;
    if (node.kind === Kind.OPERATION_DEFINITION) for (const v of node.variableDefinitions ?? []) n += v.directives?.length ?? 0;
    if (node.kind === Kind.FRAGMENT_SPREAD) {
      const name = node.name.value;
      if (!fragmentCount.has(name)) {
        fragmentCount.set(name, 0);
        const f = fragments.get(name);
        fragmentCount.set(name, f ? count(f) : 0);
      }
      return n + fragmentCount.get(name)!;
    }
    if ('selectionSet' in node && node.selectionSet) for (const s of node.selectionSet.selections) n += count(s);
    return n;
  };
  return count(operation);
}
