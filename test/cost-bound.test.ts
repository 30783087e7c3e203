import {
  getNamedType,
  getNullableType,
  isAbstractType,
  isCompositeType,
  isEnumType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isUnionType,
  Kind,
  parse,
  type FieldNode,
  type GraphQLArgument,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from './support/random.js';
import { costModel, estimateCost, type CostModel } from '../src/server/limits/cost.js';
import { scalarListBounds } from '../src/server/limits/list-bounds.js';
import { buildSchema } from '../src/server/schema.js';
import { startTestServer, type TestServer } from './support/server.js';
import { OPERATIONAL_KINDS } from './support/stores.js';

/**
 * Property: the cost estimate (src/server/limits/cost.ts) is an upper bound of what an operation
 * returns. Operations are generated from the schema (so a new field or type is covered without
 * anyone remembering to): random fields of every type reached, nested lists with and without
 * `first` (literal, variable, null), aliases, named and inline fragments, `_entities` with lists
 * and single representations, introspection. Each runs on a real server with the demo data; the
 * objects, values and list entries of its answer never exceed the estimate.
 */
const OPERATIONS = 300;

/** A small fixed-seed PRNG (mulberry32): the same operations on every run. */
function random(seed: number) {
  const next = mulberry32(seed);
  return {
    chance: (p: number) => next() < p,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
  };
}
type Random = ReturnType<typeof random>;

interface Pools {
  ids: string[];
  strings: string[];
  typeNames: string[];
  representations: Record<string, unknown>[];
}

/** Generates one operation (document text and variables) from the schema. */
function generate(schema: GraphQLSchema, r: Random, pools: Pools): { query: string; variables: Record<string, unknown> } {
  const variables: Record<string, unknown> = {};
  const varDefs: string[] = [];
  const fragments: string[] = [];
  let names = 0;
  const literal = (type: GraphQLInputType, argName: string): string => {
    const t = getNullableType(type);
    if (isListType(t)) return `[${literal(t.ofType, argName)}]`;
    const named = getNamedType(t);
    if (named.name === 'Int') return String(r.int(0, 4));
    if (named.name === 'Boolean') return r.pick(['true', 'false']);
    if (named.name === 'DateTime') return JSON.stringify(new Date().toISOString());
    if (named.name === 'ID') return JSON.stringify(r.pick(pools.ids));
    if (named.name === 'String')
      return JSON.stringify(argName === 'name' && r.chance(0.3) ? r.pick(pools.typeNames) : r.pick(pools.strings));
    if (isEnumType(named)) return named.getValues()[0].name;
    return 'null';
  };
  const variable = (type: GraphQLInputType, value: unknown): string => {
    const name = `v${varDefs.length}`;
    varDefs.push(`$${name}: ${String(type)}`);
    variables[name] = value;
    return `$${name}`;
  };
  const argsOf = (def: GraphQLField<unknown, unknown>): string => {
    const out: string[] = [];
    for (const a of def.args as GraphQLArgument[]) {
      if (a.name === 'first') {
        const how = r.int(0, 4);
        if (how === 1) out.push(`first: ${r.int(0, 5)}`);
        else if (how === 2) out.push(`first: ${variable(a.type, r.int(0, 5))}`);
        else if (how === 3) out.push('first: null');
        else if (how === 4) out.push(`first: ${variable(a.type, null)}`);
      } else if (a.name === 'representations') {
        const reps = Array.from({ length: r.int(1, 4) }, () => r.pick(pools.representations));
        // A single representation is coerced to a list of one (issue 17, finding 1).
        out.push(`representations: ${variable(a.type, reps.length === 1 && r.chance(0.5) ? reps[0] : reps)}`);
      } else if (isNonNullType(a.type) || r.chance(0.2)) {
        out.push(`${a.name}: ${literal(a.type, a.name)}`);
      }
    }
    return out.length ? `(${out.join(', ')})` : '';
  };
  const selection = (type: GraphQLCompositeType, depth: number): string => {
    const parts: string[] = [];
    if (isAbstractType(type) || r.chance(0.2)) parts.push('__typename');
    if (!isUnionType(type)) {
      const fields = Object.values(type.getFields()).filter((f) => !f.name.startsWith('_') || f.name === '_entities');
      const leaves = fields.filter((f) => !isCompositeType(getNamedType(f.type)));
      const n = r.int(1, 4);
      for (let i = 0; i < n; i++) {
        const f = depth > 0 ? r.pick(fields) : r.pick(leaves.length ? leaves : fields);
        if (!f || (depth <= 0 && isCompositeType(getNamedType(f.type)))) continue;
        parts.push(field(f, depth));
      }
    }
    if (isAbstractType(type) && depth > 0) {
      for (const t of schema.getPossibleTypes(type)) if (r.chance(0.3)) parts.push(`... on ${t.name} { ${selection(t, depth - 1)} }`);
    }
    if (r.chance(0.15)) parts.push(`... { ${selection(type, depth - 1)} }`);
    if (r.chance(0.2)) {
      const name = `F${names++}`;
      fragments.push(`fragment ${name} on ${type.name} { ${selection(type, depth - 1)} }`);
      parts.push(`...${name}`);
      if (r.chance(0.3)) parts.push(`...${name}`);
    }
    return parts.join(' ') || '__typename';
  };
  const field = (f: GraphQLField<unknown, unknown>, depth: number): string => {
    const named = getNamedType(f.type);
    const sub = isCompositeType(named) ? ` { ${selection(named, depth - 1)} }` : '';
    const args = argsOf(f);
    // Fields with arguments get an alias of their own: two of one name with other arguments would not validate.
    const alias = args || r.chance(0.3) ? `a${names++}: ` : '';
    return `${alias}${f.name}${args}${sub}`;
  };
  const root = schema.getQueryType()!;
  const rootFields = Object.values(root.getFields()).filter((f) => f.name !== '_service');
  const parts: string[] = [];
  for (let i = r.int(1, 3); i > 0; i--) {
    const what = r.int(0, 9);
    if (what === 0)
      parts.push(
        `${r.chance(0.5) ? `s${names++}: ` : ''}__schema { ${selection(schema.getType('__Schema') as GraphQLCompositeType, r.int(2, 4))} }`,
      );
    else if (what === 1)
      parts.push(
        `a${names++}: __type(name: ${JSON.stringify(r.pick(pools.typeNames))}) { ${selection(schema.getType('__Type') as GraphQLCompositeType, r.int(1, 4))} }`,
      );
    else parts.push(field(r.pick(rootFields), r.int(1, 5)));
  }
  const head = varDefs.length ? `query Q(${varDefs.join(', ')})` : 'query Q';
  return { query: `${head} { ${parts.join(' ')} } ${fragments.join(' ')}`, variables };
}

/** Objects, values and list entries of an answer, counted as the estimate counts them: each response entry 1, a list 1 plus its items. */
function countReturned(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Map<string, SelectionSetNode & { on: string }>,
  data: Record<string, unknown>,
): number {
  const fieldsOf = (set: SelectionSetNode, typename: string, out: Map<string, FieldNode[]>) => {
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) {
        const key = s.alias?.value ?? s.name.value;
        out.set(key, [...(out.get(key) ?? []), s]);
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        if (!s.typeCondition || applies(s.typeCondition.name.value, typename)) fieldsOf(s.selectionSet, typename, out);
      } else {
        const f = fragments.get(s.name.value)!;
        if (applies(f.on, typename)) fieldsOf(f, typename, out);
      }
    }
    return out;
  };
  const applies = (condition: string, typename: string) => {
    if (condition === typename) return true;
    const c = schema.getType(condition);
    const t = schema.getType(typename);
    return !!c && !!t && isAbstractType(c) && isObjectType(t) && schema.isSubType(c, t);
  };
  const meta: Record<string, GraphQLOutputType> = {
    __schema: schema.getType('__Schema') as GraphQLOutputType,
    __type: schema.getType('__Type') as GraphQLOutputType,
  };
  const value = (v: unknown, type: GraphQLOutputType, nodes: FieldNode[]): number => {
    if (v === null || v === undefined) return 1;
    const t = getNullableType(type);
    if (isListType(t)) return 1 + (v as unknown[]).reduce<number>((n, item) => n + value(item, t.ofType, nodes), 0);
    const named = getNamedType(t);
    if (!isCompositeType(named)) return 1;
    const obj = v as Record<string, unknown>;
    const typename = isObjectType(named) ? named.name : String(obj.__typename);
    return 1 + object(obj, typename, nodes);
  };
  const object = (obj: Record<string, unknown>, typename: string, nodes: FieldNode[]): number => {
    const fields = new Map<string, FieldNode[]>();
    for (const n of nodes) if (n.selectionSet) fieldsOf(n.selectionSet, typename, fields);
    let total = 0;
    const type = schema.getType(typename);
    for (const [key, ns] of fields) {
      if (!(key in obj)) continue;
      const name = ns[0].name.value;
      const def =
        name === '__typename'
          ? undefined
          : meta[name] && typename === schema.getQueryType()!.name
            ? { type: meta[name] }
            : isObjectType(type) || isInterfaceType(type)
              ? type.getFields()[name]
              : undefined;
      total += def ? value(obj[key], def.type, ns) : 1;
    }
    return total;
  };
  const rootNode = { kind: Kind.FIELD, name: { kind: Kind.NAME, value: 'root' }, selectionSet: operation.selectionSet } as FieldNode;
  return object(data, schema.getQueryType()!.name, [rootNode]);
}

describe.each(OPERATIONAL_KINDS)('the cost estimate bounds what operations return, on %s', (kind) => {
  let s: TestServer;
  let model: CostModel;
  let schema: GraphQLSchema;
  let pools: Pools;
  beforeAll(async () => {
    // Nothing refused: every generated operation runs, so each is compared with its answer.
    s = await startTestServer(kind, {
      seedDemo: true,
      env: {
        LIMIT_MAX_COST: '1000000000',
        LIMIT_MAX_LIST_ITEMS: '100000',
        LIMIT_MAX_ALIASES: '10000',
        LIMIT_MAX_DEPTH: '100',
        LIMIT_MAX_DIRECTIVES: '10000',
      },
    });
    schema = buildSchema();
    model = costModel(schema, scalarListBounds(s.app.engine.schema));
    const listed = await s.ok<any>(
      '{ projects { id name compositeApps { id } logicalClusters { id } } deploymentIntentGroups(project: "retail") { id approval { id } owner { id } } clusterProvider(name: "edge-east") { id clusters { id } } }',
    );
    const ids: string[] = [
      ...listed.projects.flatMap((p: any) => [p.id, ...p.compositeApps.map((a: any) => a.id), ...p.logicalClusters.map((l: any) => l.id)]),
      ...listed.deploymentIntentGroups.flatMap((g: any) => [g.id, g.owner?.id].filter(Boolean)),
      listed.clusterProvider.id,
      ...listed.clusterProvider.clusters.map((c: any) => c.id),
      'no-such-id',
    ];
    pools = {
      ids,
      strings: ['retail', 'logistics', 'storefront', 'default', 'prod-east', 'edge-east', 'east-1', 'nope'],
      typeNames: ['Project', 'Query', 'DeploymentIntentGroup', 'Resource', '__Type', 'Employee', '_Entity'],
      representations: [
        { __typename: 'Project', name: 'retail' },
        { __typename: 'Project', id: ids[0] },
        { __typename: 'Employee', employeeId: 'e-1' },
        { __typename: 'Employee', employeeId: 'e-999' },
        { __typename: 'BankAccount', number: 'ACC-1001', owner: 'e-1' },
        { __typename: 'Cluster', provider: { name: 'edge-east' }, name: 'east-1' },
        { __typename: 'DeploymentIntentGroup', kind: 'DeploymentIntentGroup', naturalKey: 'x' },
      ],
    };
  }, 120_000);
  afterAll(() => s?.close());

  it(`${OPERATIONS} generated operations: the estimate is at least what each answer holds`, async () => {
    const r = random(kind === 'sqlite' ? 17 : 1717);
    let answered = 0;
    let largest = 0;
    for (let i = 0; i < OPERATIONS; i++) {
      const { query, variables } = generate(schema, r, pools);
      const document = parse(query);
      const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION) as OperationDefinitionNode;
      const fragments = new Map<string, SelectionSetNode & { on: string }>();
      for (const d of document.definitions)
        if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, { ...d.selectionSet, on: d.typeCondition.name.value });
      const res = await s.gql(query, variables);
      const estimate = estimateCost(model, document, operation, variables);
      if (!res.data) {
        // Refused before execution (a bad variable or argument): nothing returned, nothing to bound.
        expect(res.errors?.length, query).toBeGreaterThan(0);
        continue;
      }
      answered++;
      const returned = countReturned(schema, operation, fragments, res.data);
      largest = Math.max(largest, returned);
      expect(estimate, `${query}\n${JSON.stringify(variables)}`).toBeGreaterThanOrEqual(returned);
    }
    // The generator must produce operations that run, and some that return a fair amount.
    expect(answered).toBeGreaterThan(OPERATIONS * 0.6);
    expect(largest).toBeGreaterThan(200);
  }, 600_000);
});
