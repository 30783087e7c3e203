import {
  getNamedType,
  isAbstractType,
  isCompositeType,
  isEnumType,
  isInterfaceType,
  isNonNullType,
  isObjectType,
  isScalarType,
  isUnionType,
  parse,
  validate,
  type GraphQLArgument,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import { mulberry32 } from './random.js';

/**
 * Random query operations generated from the schema (test/differential-execution.test.ts): every
 * root field, type and argument of the schema is reached by walking it, so a new field is covered
 * without anyone listing it. Shapes that execution engines are known to get wrong are drawn on
 * purpose: aliases, the same response key selected from several fragments, named and inline
 * fragments on interfaces and concrete types, `@skip`/`@include` with literals and variables,
 * arguments that fail (bad ids, negative pages) and `_entities` with every key shape.
 */

/** Values the generator draws arguments from: real ones from the store and wrong ones. */
export interface ValuePools {
  resourceIds: string[];
  projectNames: string[];
  providerNames: string[];
  /** [project, compositeApp, compositeProfile, name] of existing groups. */
  groups: [string, string, string, string][];
  approvalIds: string[];
  remoteRefIds: string[];
  /** `_entities` representations, valid and failing, of every key shape. */
  representations: Record<string, unknown>[];
}

export interface GeneratedOperation {
  query: string;
  variables: Record<string, unknown>;
}

const BAD_IDS = ['zzz', '00000000-0000-7000-8000-000000000000', ''];
const INSTANTS = ['2000-01-01T00:00:00Z', '2999-01-01T00:00:00.000000Z', 'yesterday'];

class Generator {
  private vars: { name: string; type: string; value: unknown }[] = [];
  private fragments: string[] = [];
  private names = 0;
  /** Half the operations carry no directive at all: those are the ones graphql-jit may run. */
  private directives = true;

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly pools: ValuePools,
    private readonly rnd: () => number,
  ) {}

  private chance(p: number): boolean {
    return this.rnd() < p;
  }
  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)];
  }
  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.rnd() * (hi - lo + 1));
  }

  operation(): GeneratedOperation {
    this.vars = [];
    this.fragments = [];
    this.directives = this.chance(0.5);
    const query = this.schema.getQueryType()!;
    let body: string;
    if (this.chance(0.15)) body = `{ ${this.namedFragment(query, 0)} }`;
    else body = this.selectionSet(query, 0, this.int(1, 3));
    const defs = this.vars.length ? `(${this.vars.map((v) => `$${v.name}: ${v.type}`).join(', ')})` : '';
    const variables = Object.fromEntries(this.vars.map((v) => [v.name, v.value]));
    return { query: [`query Q${defs} ${body}`, ...this.fragments].join('\n'), variables };
  }

  private variable(type: string, value: unknown): string {
    const name = `v${this.vars.length}`;
    this.vars.push({ name, type, value });
    return `$${name}`;
  }

  private directive(): string {
    if (!this.directives || !this.chance(0.18)) return '';
    const which = this.chance(0.5) ? 'include' : 'skip';
    const value = this.chance(0.5);
    const arg = this.chance(0.5) ? String(value) : this.variable(this.chance(0.5) ? 'Boolean!' : 'Boolean', value);
    return ` @${which}(if: ${arg})`;
  }

  private namedFragment(type: GraphQLCompositeType, depth: number): string {
    const name = `F${this.names++}`;
    const fields = isObjectType(type) || isInterfaceType(type) ? this.selectionSet(type, depth, this.int(1, 3)) : '{ __typename }';
    this.fragments.push(`fragment ${name} on ${type.name} ${fields}`);
    return `...${name}${this.directive()}`;
  }

  /** A selection set on `type`: fields, fragments, and sometimes a field repeated under one key. */
  private selectionSet(type: GraphQLCompositeType, depth: number, width: number): string {
    const parts: string[] = [];
    const repeatable: { head: string; field: GraphQLField<unknown, unknown> }[] = [];
    if (isUnionType(type)) {
      parts.push('__typename');
      for (const t of type.getTypes())
        if (this.chance(0.5)) parts.push(`... on ${t.name}${this.directive()} ${this.selectionSet(t, depth + 1, this.int(1, 3))}`);
      return `{ ${parts.join(' ')} }`;
    }
    const fields = Object.values(type.getFields()).filter((f) => f.name !== '_service' || this.chance(0.05));
    for (let i = 0; i < width; i++) {
      // `_entities` is one root field among many, but the one a router sends most: drawn more often.
      const entities = depth === 0 && '_entities' in this.schema.getQueryType()!.getFields() && this.chance(0.08);
      const field = entities ? this.schema.getQueryType()!.getFields()._entities : this.pick(fields);
      const head = `${this.chance(0.2) ? `${field.name}_${this.int(0, 1)}: ` : ''}${field.name}${this.args(field)}`;
      parts.push(this.field(head, field, depth));
      repeatable.push({ head, field });
    }
    if (this.chance(0.2)) parts.push('__typename');
    const spreadOn = (): GraphQLCompositeType => {
      if (isInterfaceType(type)) return this.pick([type, ...this.schema.getPossibleTypes(type)]);
      if (isObjectType(type) && type.getInterfaces().length && this.chance(0.5)) return this.pick(type.getInterfaces());
      return type;
    };
    if (depth < 4 && this.chance(0.3)) {
      const on = spreadOn();
      // The same response key again inside the fragment, with another sub-selection.
      const again = on === type && repeatable.length && this.chance(0.6) ? this.pick(repeatable) : undefined;
      const inner = again ? `{ ${this.field(again.head, again.field, depth + 1)} }` : this.selectionSet(on, depth + 1, this.int(1, 2));
      const condition = on === type && this.chance(0.3) ? '' : ` on ${on.name}`;
      parts.push(`...${condition}${this.directive()} ${inner}`);
    }
    if (depth < 4 && this.chance(0.15)) parts.push(this.namedFragment(spreadOn(), depth + 1));
    if (depth < 4 && repeatable.length && this.chance(0.15)) {
      const again = this.pick(repeatable);
      parts.push(this.field(again.head, again.field, depth + 1));
    }
    return `{ ${parts.join(' ')} }`;
  }

  private field(head: string, field: GraphQLField<unknown, unknown>, depth: number): string {
    const named = getNamedType(field.type);
    const sub = isCompositeType(named)
      ? ` ${depth >= 3 ? this.leafSelection(named) : this.selectionSet(named, depth + 1, this.int(1, 3))}`
      : '';
    return `${head}${this.directive()}${sub}`;
  }

  /** The deepest levels select scalars only, so operations stay small. */
  private leafSelection(type: GraphQLCompositeType): string {
    if (isAbstractType(type)) return '{ __typename }';
    const leaves = Object.values((type as GraphQLObjectType).getFields()).filter(
      (f) => !isCompositeType(getNamedType(f.type)) && !f.args.some((a) => isNonNullType(a.type)),
    );
    return leaves.length ? `{ ${this.pick(leaves).name} }` : '{ __typename }';
  }

  private args(field: GraphQLField<unknown, unknown>): string {
    const out: string[] = [];
    if (field.name === 'deploymentIntentGroup') {
      const g = this.chance(0.85) ? this.pick(this.pools.groups) : ['retail', 'storefront', 'default', 'nope'];
      return `(project: ${JSON.stringify(g[0])}, compositeApp: ${JSON.stringify(g[1])}, compositeProfile: ${JSON.stringify(g[2])}, name: ${JSON.stringify(g[3])})`;
    }
    for (const arg of field.args) {
      const required = isNonNullType(arg.type);
      if (!required && !this.chance(arg.name === 'first' ? 0.7 : 0.1)) continue;
      const value = this.value(field, arg);
      const asVariable = this.chance(0.25) || arg.name === 'representations';
      out.push(`${arg.name}: ${asVariable ? this.variable(typeText(arg.type), value) : literal(value)}`);
    }
    return out.length ? `(${out.join(', ')})` : '';
  }

  private value(field: GraphQLField<unknown, unknown>, arg: GraphQLArgument): unknown {
    const p = this.pools;
    switch (arg.name) {
      case 'first':
        return this.chance(0.05) ? this.pick([-1, 1001]) : this.int(0, 3);
      case 'after':
        return this.pick([...p.resourceIds, 'zzz']);
      case 'at':
        return this.pick(INSTANTS);
      case 'resourceId':
        return this.pick([...p.resourceIds, ...BAD_IDS]);
      case 'representations': {
        const n = this.int(1, 4);
        return Array.from({ length: n }, () => this.pick(p.representations));
      }
      case 'name':
        return field.name === 'clusterProvider' ? this.pick([...p.providerNames, 'nope']) : this.pick([...p.projectNames, 'nope']);
      case 'project':
        return this.pick([...p.projectNames, 'nope']);
      case 'id':
        if (field.name === 'approval') return this.pick([...p.approvalIds, ...BAD_IDS]);
        if (field.name === 'remoteReference') return this.pick([...p.remoteRefIds, ...BAD_IDS]);
        return this.chance(0.85) ? this.pick(p.resourceIds) : this.pick(BAD_IDS);
    }
    const t = getNamedType(arg.type);
    if (isEnumType(t)) return t.getValues()[0].value;
    if (isScalarType(t)) return t.name === 'Int' ? 1 : t.name === 'Boolean' ? true : 'x';
    throw new Error(`no generator for argument ${field.name}(${arg.name}: ${String(arg.type)})`);
  }
}

function typeText(type: GraphQLInputType): string {
  return String(type);
}

/** A GraphQL literal for a JSON value (enum values are not generated as literals). */
function literal(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  if (value !== null && typeof value === 'object')
    return `{ ${Object.entries(value)
      .map(([k, v]) => `${k}: ${literal(v)}`)
      .join(', ')} }`;
  return JSON.stringify(value);
}

/**
 * `count` valid operations from `seed`: a generated document that validation refuses (two
 * aliases of one key with different arguments, say) is dropped and another drawn.
 */
export function generateOperations(schema: GraphQLSchema, pools: ValuePools, seed: number, count: number): GeneratedOperation[] {
  const g = new Generator(schema, pools, mulberry32(seed));
  const out: GeneratedOperation[] = [];
  for (let tries = 0; out.length < count; tries++) {
    if (tries > count * 20) throw new Error(`only ${out.length} of ${count} generated operations were valid`);
    const op = g.operation();
    if (validate(schema, parse(op.query)).length === 0) out.push(op);
  }
  return out;
}
