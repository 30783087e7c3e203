import {
  getArgumentValues,
  getNamedType,
  getNullableType,
  isCompositeType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isUnionType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { coerceVariables } from '../operation/fields.js';

/**
 * What a list without `first` and without a known bound is taken to hold: the engine's page cap
 * (src/engine/paging.ts), the most any list of this subgraph returns in one piece.
 */
export const UNPAGED_LIST_SIZE = 1000;

/**
 * What the estimate needs of the schema, computed once: list bounds of the introspection types
 * (derived from the schema's own size) and of scalar lists whose size the relationship schema
 * bounds (`labels` holds at most `maxItems`).
 */
export interface CostModel {
  schema: GraphQLSchema;
  /** `Type.field` → most items that list may hold. */
  listBounds: ReadonlyMap<string, number>;
  introspection: IntrospectionBounds;
}

/**
 * Introspection lists are bounded by the schema: no type has more fields than the largest one, no
 * schema more types than it has, no type reference more wrappers (`ofType`) than the deepest.
 * Under `__schema { types }` each list of a type is bounded by the schema's average instead: the
 * types' lists together hold the schema's totals, and the cost is linear in each list's length.
 */
export interface IntrospectionBounds {
  /** `__Type.fields` and the like → most items one type has. */
  max: ReadonlyMap<string, number>;
  /** The same lists on average over `__Schema.types` (and `__Field.args` over all their fields). */
  average: ReadonlyMap<string, number>;
  /** Most `ofType` links of one type reference that are not null. */
  wrappers: number;
}

function introspectionBounds(schema: GraphQLSchema): IntrospectionBounds {
  const types = Object.values(schema.getTypeMap());
  const directives = schema.getDirectives();
  const fields = types.flatMap((t) => (isObjectType(t) || isInterfaceType(t) ? Object.values(t.getFields()) : []));
  const lists: Record<string, (t: GraphQLNamedType) => number> = {
    '__Type.fields': (t) => (isObjectType(t) || isInterfaceType(t) ? Object.keys(t.getFields()).length : 0),
    '__Type.interfaces': (t) => (isObjectType(t) || isInterfaceType(t) ? t.getInterfaces().length : 0),
    '__Type.possibleTypes': (t) => (isUnionType(t) || isInterfaceType(t) ? schema.getPossibleTypes(t).length : 0),
    '__Type.enumValues': (t) => (isEnumType(t) ? t.getValues().length : 0),
    '__Type.inputFields': (t) => (isInputObjectType(t) ? Object.keys(t.getFields()).length : 0),
  };
  const max = new Map<string, number>([
    ['__Schema.types', types.length],
    ['__Schema.directives', directives.length],
    ['__Field.args', Math.max(0, ...fields.map((f) => f.args.length), ...directives.map((d) => d.args.length))],
    ['__Directive.args', Math.max(0, ...directives.map((d) => d.args.length))],
    ['__Directive.locations', Math.max(0, ...directives.map((d) => d.locations.length))],
  ]);
  const average = new Map<string, number>([['__Field.args', fields.reduce((n, f) => n + f.args.length, 0) / Math.max(1, fields.length)]]);
  for (const [list, size] of Object.entries(lists)) {
    const sizes = types.map(size);
    max.set(list, Math.max(0, ...sizes));
    average.set(list, sizes.reduce((a, b) => a + b, 0) / Math.max(1, types.length));
  }
  let wrappers = 0;
  const wrapping = (t: GraphQLType): number => (isNonNullType(t) || isListType(t) ? 1 + wrapping(t.ofType) : 0);
  for (const f of fields) for (const t of [f.type, ...f.args.map((a) => a.type)]) wrappers = Math.max(wrappers, wrapping(t));
  for (const t of types)
    if (isInputObjectType(t)) for (const f of Object.values(t.getFields())) wrappers = Math.max(wrappers, wrapping(f.type));
  for (const d of directives) for (const a of d.args) wrappers = Math.max(wrappers, wrapping(a.type));
  return { max, average, wrappers };
}

export function costModel(schema: GraphQLSchema, listBounds: ReadonlyMap<string, number> = new Map()): CostModel {
  return { schema, listBounds, introspection: introspectionBounds(schema) };
}

/** An operation's variables coerced as execution will coerce them (once per request: fields.ts); undefined when execution will refuse them. */
export function coercedVariables(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  raw: Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
  const coerced = coerceVariables(schema, operation, raw);
  return coerced.ok ? coerced.values : undefined;
}

/** A field's arguments as its resolver receives them; undefined when execution will refuse them. */
export function argumentsOf(
  def: GraphQLField<unknown, unknown>,
  node: FieldNode,
  variables: Record<string, unknown>,
): Record<string, unknown> | undefined {
  try {
    return getArgumentValues(def, node, variables);
  } catch {
    return undefined;
  }
}

/**
 * An upper bound of what an operation returns: every object, every scalar value (aliases
 * included) and every list entry counts 1, and a list multiplies what is under it by the items it
 * will hold: `first` as execution will see it (literal, variable or the schema's default, which
 * is the page the resolvers return: engine.nestedPage), a known bound for lists without `first`
 * (introspection, `labels`), the number of representations for `_entities`. `@skip`/`@include`
 * are ignored and fields of one response key are counted each time they appear (both only
 * over-count). Fragments are costed once per name; the walk stops as soon as the total passes
 * `stopAbove`. Undefined when the variables are refused (execution answers BAD_USER_INPUT).
 *
 * Why not GraphQL Armor's cost-limit: it multiplies only by a literal `first`, so a variable or a
 * schema default counts as 1. It also runs as a validation rule, and Apollo caches validation per
 * document, so it could never see variables; this runs per request.
 */
export function estimateCost(
  model: CostModel,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  rawVariables: Record<string, unknown> | undefined,
  stopAbove = Infinity,
): number | undefined {
  const { schema, listBounds, introspection } = model;
  const root = schema.getRootType(operation.operation);
  if (!root) return 0;
  const variables = coercedVariables(schema, operation, rawVariables);
  if (!variables) return undefined;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  // A fragment costs the same wherever it is spread in the same context: computed once, so reuse cannot blow up the estimate's own work.
  const fragmentCost = new Map<string, number>();
  const schemaType = schema.getType('__Schema') as GraphQLCompositeType;
  const typeType = schema.getType('__Type') as GraphQLCompositeType;
  const plain: Context = { mode: 'max', wrappers: introspection.wrappers };

  const itemsOf = (parent: string, def: GraphQLField<unknown, unknown>, node: FieldNode, ctx: Context): number => {
    const sized = ctx.sized?.get(def.name);
    if (sized !== undefined) return sized;
    const list = `${parent}.${def.name}`;
    const bound =
      (ctx.mode === 'types' || (ctx.mode === 'fields' && list === '__Field.args') ? introspection.average.get(list) : undefined) ??
      introspection.max.get(list) ??
      listBounds.get(list);
    if (bound !== undefined) return bound;
    const args = def.args.length ? argumentsOf(def, node, variables) : {};
    if (!args) return 0; // refused at execution (BAD_USER_INPUT)
    if (def.name === '_entities') {
      const reps = args.representations;
      return Array.isArray(reps) ? reps.length : 1;
    }
    if (!def.args.some((a) => a.name === 'first')) return UNPAGED_LIST_SIZE;
    const first = args.first;
    // An explicit null gets the resolver's fallback, which is the SDL default (engine.nestedPage).
    if (first === null || first === undefined) {
      const d = def.args.find((a) => a.name === 'first')!.defaultValue;
      return typeof d === 'number' ? d : UNPAGED_LIST_SIZE;
    }
    // A bad value is refused by the resolver (BAD_USER_INPUT); counting it as given is still a bound.
    return typeof first === 'number' && first > 0 ? first : 0;
  };

  /** What one value of `type` costs: 1, plus its fields for an object, times its items for a list. */
  const valueCost = (type: GraphQLOutputType, items: () => number, set: SelectionSetNode | undefined, ctx: Context): number => {
    const t = getNullableType(type);
    if (isListType(t)) {
      const n = items();
      return n === 0 ? 1 : 1 + n * valueCost(t.ofType, () => UNPAGED_LIST_SIZE, set, ctx);
    }
    const named = getNamedType(t);
    return set && isCompositeType(named) ? 1 + selectionCost(set, named, ctx) : 1;
  };

  const fieldDef = (parent: GraphQLCompositeType, name: string): GraphQLField<unknown, unknown> | undefined => {
    if (parent === root && operation.operation === 'query') {
      if (name === '__schema') return { name, type: schemaType, args: [] } as unknown as GraphQLField<unknown, unknown>;
      if (name === '__type') return { name, type: typeType, args: [] } as unknown as GraphQLField<unknown, unknown>;
    }
    return isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
  };

  /** Where an introspection field's value sits: what bounds its lists (see IntrospectionBounds). */
  const childContext = (parent: string, field: string, ctx: Context): Context => {
    if (parent === '__Schema' && field === 'types') return { mode: 'types', wrappers: introspection.wrappers };
    if (parent === '__Type' && field === 'fields' && ctx.mode === 'types') return { mode: 'fields', wrappers: introspection.wrappers };
    if (parent === '__Type' && field === 'ofType') return { mode: 'max', wrappers: ctx.wrappers - 1 };
    return ctx.mode === 'max' && ctx.wrappers === introspection.wrappers ? ctx : plain;
  };

  const selectionCost = (set: SelectionSetNode, parent: GraphQLCompositeType, ctx: Context): number => {
    let total = 0;
    for (const sel of set.selections) {
      if (total > stopAbove) return total;
      if (sel.kind === Kind.INLINE_FRAGMENT) {
        const on = sel.typeCondition ? (schema.getType(sel.typeCondition.name.value) as GraphQLCompositeType | undefined) : parent;
        if (on) total += selectionCost(sel.selectionSet, on, ctx);
      } else if (sel.kind === Kind.FRAGMENT_SPREAD) {
        const key = `${sel.name.value}|${ctx.mode}|${ctx.wrappers}|${ctx.sized ? JSON.stringify([...ctx.sized]) : ''}`;
        if (!fragmentCost.has(key)) {
          fragmentCost.set(key, 0); // validation forbids cycles; this only guards the recursion
          const f = fragments.get(sel.name.value);
          const on = f && (schema.getType(f.typeCondition.name.value) as GraphQLCompositeType | undefined);
          fragmentCost.set(key, f && on ? selectionCost(f.selectionSet, on, ctx) : 0);
        }
        total += fragmentCost.get(key)!;
      } else if (sel.name.value === '__typename') {
        total += 1;
      } else {
        const def = fieldDef(parent, sel.name.value);
        if (!def) continue;
        let inner = childContext(parent.name, def.name, ctx);
        // A connection: its `first` sizes the lists it names (`edges`), one level down only.
        const sizedFields = sizedFieldsOf(def);
        if (sizedFields.length) {
          const n = itemsOf(parent.name, def, sel, ctx);
          inner = { ...inner, sized: new Map(sizedFields.map((f) => [f, n])) };
        } else if (inner.sized) inner = { ...inner, sized: undefined };
        // A type reference has no more non-null `ofType` links than the schema's deepest wrapping.
        if (inner.wrappers < 0) total += 1;
        else total += valueCost(def.type, () => itemsOf(parent.name, def, sel, ctx), sel.selectionSet, inner);
      }
    }
    return total;
  };

  return selectionCost(operation.selectionSet, root, plain);
}

/** Where a selection sits inside introspection: `types` of the schema, their `fields`, or elsewhere; and `ofType` links left. */
interface Context {
  mode: 'max' | 'types' | 'fields';
  wrappers: number;
  /** Lists of this selection whose size the field above gives (a connection's `edges` at its `first`). */
  sized?: ReadonlyMap<string, number>;
}

const sizedFieldsCache = new WeakMap<GraphQLField<unknown, unknown>, string[]>();

/** `@listSize(sizedFields: [...])` of a field that is not itself a list (a connection): the lists its slicing argument sizes. */
function sizedFieldsOf(def: GraphQLField<unknown, unknown>): string[] {
  let out = sizedFieldsCache.get(def);
  if (out) return out;
  out = [];
  if (!isListType(getNullableType(def.type)) && def.args.some((a) => a.name === 'first')) {
    const listSize = def.astNode?.directives?.find((d) => d.name.value === 'listSize');
    const arg = listSize?.arguments?.find((a) => a.name.value === 'sizedFields');
    if (arg?.value.kind === Kind.LIST) for (const v of arg.value.values) if (v.kind === Kind.STRING) out.push(v.value);
  }
  sizedFieldsCache.set(def, out);
  return out;
}
