import {
  getNamedType,
  isAbstractType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  valueFromASTUntyped,
  type ConstDirectiveNode,
  type GraphQLArgument,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import { placeholder as placeholderOf } from './operations.js';

/**
 * Operations generated from the served schema for the access-control tests: a new root field,
 * type or entity is covered without anyone editing a test. What each operation needs is read
 * from the SDL's directives here, independently of src/server/auth.
 */

/** A minimal valid value of an input type (required input fields only; lists of one item). */
export const placeholder = (type: GraphQLInputType): unknown => placeholderOf(type, 'one item');

/** Every scope set a rule accepts (outer list OR); `[[]]` for @authenticated or no rule. */
type Needs = string[][];

function needsOf(directives: readonly ConstDirectiveNode[] | undefined): Needs[] {
  const out: Needs[] = [];
  for (const d of directives ?? []) {
    if (d.name.value === 'authenticated') out.push([[]]);
    if (d.name.value === 'requiresScopes') {
      const arg = d.arguments!.find((a) => a.name.value === 'scopes')!;
      out.push(valueFromASTUntyped(arg.value) as string[][]);
    }
  }
  return out;
}

export const typeNeeds = (type: GraphQLObjectType): Needs[] => needsOf(type.astNode?.directives);
export const fieldNeeds = (type: GraphQLObjectType, field: string): Needs[] => needsOf(type.getFields()[field].astNode?.directives);

/** The scopes that satisfy every requirement by its first alternative. */
export const sufficient = (needs: Needs[]): string[] => [...new Set(needs.flatMap((n) => n[0]))];

/** What selecting a field that returns `type` needs: its rule, or for an abstract type every possible type's. */
export function returnedNeeds(schema: GraphQLSchema, type: GraphQLCompositeType): Needs[] {
  return isAbstractType(type) ? schema.getPossibleTypes(type).flatMap(typeNeeds) : typeNeeds(type);
}

/** Collects the variables an operation declares. */
class Variables {
  readonly defs: string[] = [];
  readonly values: Record<string, unknown> = {};

  add(arg: GraphQLArgument, value: unknown = placeholder(arg.type)): string {
    const name = `v${this.defs.length}`;
    this.defs.push(`$${name}: ${arg.type.toString()}`);
    this.values[name] = value;
    return `$${name}`;
  }

  declaration(): string {
    return this.defs.length ? `(${this.defs.join(', ')})` : '';
  }
}

/** Required arguments as variables; lists asked for one item, to keep the estimate small. */
function argumentsOf(field: GraphQLField<unknown, unknown>, vars: Variables, overrides: Record<string, unknown> = {}): string {
  const parts: string[] = [];
  for (const a of field.args) {
    if (a.name in overrides) parts.push(`${a.name}: ${vars.add(a, overrides[a.name])}`);
    else if (isNonNullType(a.type)) parts.push(`${a.name}: ${vars.add(a)}`);
    else if (a.name === 'first') parts.push('first: 1');
  }
  return parts.length ? `(${parts.join(', ')})` : '';
}

/** A selection of `type` reaching `depth` levels of nested objects: every leaf and every object field. */
export function selectionOf(schema: GraphQLSchema, type: GraphQLCompositeType, depth: number, vars: Variables): string {
  if (isAbstractType(type)) {
    return `__typename ${schema
      .getPossibleTypes(type)
      .map((t) => `... on ${t.name} { ${selectionOf(schema, t, depth, vars)} }`)
      .join(' ')}`;
  }
  const parts = ['__typename'];
  for (const f of Object.values((type as GraphQLObjectType).getFields())) {
    const named = getNamedType(f.type);
    if (isObjectType(named) || isAbstractType(named)) {
      if (depth > 0) parts.push(`${f.name}${argumentsOf(f, vars)} { ${selectionOf(schema, named, depth - 1, vars)} }`);
    } else {
      parts.push(`${f.name}${argumentsOf(f, vars)}`);
    }
  }
  return parts.join(' ');
}

export interface GeneratedOperation {
  /** e.g. `Mutation.updateProject` or `Mutation.updateProject → Approval` */
  name: string;
  query: string;
  variables: Record<string, unknown>;
  /** Scopes the operation needs (every alternative's first choice): the positive control's token. */
  needs: Needs[];
}

const roots = (schema: GraphQLSchema) =>
  (
    [
      ['query', schema.getQueryType()],
      ['mutation', schema.getMutationType()],
    ] as const
  ).flatMap(([keyword, root]) => (root ? [{ keyword, root }] : []));

/** Tokens for the generated selections (the limits allow 10,000; depth 1 keeps every operation well below). */
export const SELECTION_DEPTH = 1;

/**
 * One operation per root field (federation's own left out) with placeholder arguments and a
 * selection that reaches nested objects; `overrides` replaces argument values (e.g. a list
 * argument sent as a single value or a nested list).
 */
export function rootFieldOperations(schema: GraphQLSchema): GeneratedOperation[] {
  const out: GeneratedOperation[] = [];
  for (const { keyword, root } of roots(schema)) {
    for (const field of Object.values(root.getFields())) {
      if (field.name.startsWith('_')) continue;
      out.push(rootFieldOperation(schema, keyword, root, field));
    }
  }
  return out;
}

export function rootFieldOperation(
  schema: GraphQLSchema,
  keyword: 'query' | 'mutation',
  root: GraphQLObjectType,
  field: GraphQLField<unknown, unknown>,
  overrides: Record<string, unknown> = {},
  label = '',
): GeneratedOperation {
  const vars = new Variables();
  const named = getNamedType(field.type);
  const composite = isObjectType(named) || isAbstractType(named);
  const args = argumentsOf(field, vars, overrides);
  const body = composite ? ` { ${selectionOf(schema, named, SELECTION_DEPTH, vars)} }` : '';
  const needs = [...fieldNeeds(root, field.name), ...(composite ? reachedNeeds(schema, named, SELECTION_DEPTH) : [])];
  return {
    name: `${root.name}.${field.name}${label}`,
    query: `${keyword}${vars.declaration()} { ${field.name}${args}${body} }`,
    variables: vars.values,
    needs,
  };
}

/** The needs of every type a selection of `depth` reaches from `type` (itself included). */
function reachedNeeds(schema: GraphQLSchema, type: GraphQLCompositeType, depth: number): Needs[] {
  const out = returnedNeeds(schema, type);
  const objects = isAbstractType(type) ? schema.getPossibleTypes(type) : [type as GraphQLObjectType];
  if (depth > 0) {
    for (const o of objects) {
      for (const f of Object.values(o.getFields())) {
        const named = getNamedType(f.type);
        if (isObjectType(named) || isAbstractType(named)) out.push(...reachedNeeds(schema, named, depth - 1));
      }
    }
  }
  return out;
}

/** Root fields with a list argument: each sent as a list, as one value (coerced to a list) and as a nested list. */
export function listArgumentShapes(schema: GraphQLSchema): Array<GeneratedOperation & { shape: 'list' | 'single' | 'nested' }> {
  const out: Array<GeneratedOperation & { shape: 'list' | 'single' | 'nested' }> = [];
  for (const { keyword, root } of roots(schema)) {
    for (const field of Object.values(root.getFields())) {
      if (field.name.startsWith('_')) continue;
      for (const a of field.args) {
        const nullable = isNonNullType(a.type) ? a.type.ofType : a.type;
        if (!isListType(nullable)) continue;
        const item = placeholder(nullable.ofType);
        for (const [shape, value] of [
          ['list', [item]],
          ['single', item],
          ['nested', [[item]]],
        ] as const) {
          out.push({ ...rootFieldOperation(schema, keyword, root, field, { [a.name]: value }, ` (${a.name} as ${shape})`), shape });
        }
      }
    }
  }
  return out;
}

/** One step of a path from a root field to a type: a field, or a type condition on an abstract type. */
type Step = { field: GraphQLField<unknown, unknown> } | { on: GraphQLObjectType };

/**
 * For every root field and every type with a rule its results reach: the shortest selection from
 * the one to the other. A type's rule applies wherever it is returned, so each must be refused to
 * a token that has everything but that type's scopes.
 */
export function typesThroughRootFields(schema: GraphQLSchema): Array<GeneratedOperation & { type: string; without: string[] }> {
  const out: Array<GeneratedOperation & { type: string; without: string[] }> = [];
  for (const { keyword, root } of roots(schema)) {
    for (const field of Object.values(root.getFields())) {
      if (field.name.startsWith('_')) continue;
      const start = getNamedType(field.type);
      if (!(isObjectType(start) || isAbstractType(start))) continue;
      // Breadth first over composite types: the shortest path to each.
      const paths = new Map<string, Step[]>([[start.name, []]]);
      const queue: GraphQLCompositeType[] = [start];
      while (queue.length) {
        const t = queue.shift()!;
        const path = paths.get(t.name)!;
        const next: Array<[GraphQLCompositeType, Step]> = isAbstractType(t)
          ? schema.getPossibleTypes(t).map((p) => [p, { on: p }])
          : Object.values((t as GraphQLObjectType).getFields()).flatMap((f) => {
              const n = getNamedType(f.type);
              return isObjectType(n) || isAbstractType(n) ? [[n, { field: f }] as [GraphQLCompositeType, Step]] : [];
            });
        for (const [n, step] of next) {
          if (paths.has(n.name) || n.name.startsWith('_')) continue;
          paths.set(n.name, [...path, step]);
          queue.push(n);
        }
      }
      for (const [typeName, path] of paths) {
        const type = schema.getType(typeName);
        if (!isObjectType(type) || !typeNeeds(type).length) continue;
        const vars = new Variables();
        const args = argumentsOf(field, vars);
        let body = '__typename';
        for (const step of [...path].reverse())
          body = 'on' in step ? `... on ${step.on.name} { ${body} }` : `${step.field.name}${argumentsOf(step.field, vars)} { ${body} }`;
        // Everything the path needs (the root field and every type returned on the way)...
        const needs: Needs[] = [...fieldNeeds(root, field.name), ...returnedNeeds(schema, start)];
        for (const step of path)
          if ('field' in step) needs.push(...returnedNeeds(schema, getNamedType(step.field.type) as GraphQLCompositeType));
        // ...but the reached type's own scopes.
        const without = sufficient(typeNeeds(type));
        out.push({
          name: `${root.name}.${field.name} → ${typeName}`,
          type: typeName,
          without,
          query: `${keyword}${vars.declaration()} { ${field.name}${args} { ${body} } }`,
          variables: vars.values,
          needs,
        });
      }
    }
  }
  return out;
}

/** Entity types `_entities` resolves: the members of `_Entity` and entity interfaces. */
export function entityTypes(schema: GraphQLSchema): GraphQLCompositeType[] {
  const union = schema.getType('_Entity');
  const members = union && isAbstractType(union) ? [...schema.getPossibleTypes(union)] : [];
  const interfaces = Object.values(schema.getTypeMap()).filter(
    (t): t is GraphQLCompositeType => isInterfaceType(t) && !!t.astNode?.directives?.some((d) => d.name.value === 'key'),
  );
  return [...members, ...interfaces];
}

/** The needs of resolving an entity of this type (an interface: every implementation's). */
export const entityNeeds = (schema: GraphQLSchema, type: GraphQLCompositeType): Needs[] => returnedNeeds(schema, type);

/** `... on T { <selection> }` for `_entities`, with the variables the selection declares. */
export function entitySelection(
  schema: GraphQLSchema,
  type: GraphQLCompositeType,
): { body: string; defs: string[]; values: Record<string, unknown> } {
  const vars = new Variables();
  const body = `... on ${type.name} { ${selectionOf(schema, type, SELECTION_DEPTH, vars)} }`;
  return { body, defs: vars.defs, values: vars.values };
}
