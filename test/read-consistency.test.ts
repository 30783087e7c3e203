import {
  getNamedType,
  isNonNullType,
  isObjectType,
  parse,
  type FieldNode,
  type GraphQLObjectType,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSchema } from '../src/server/schema.js';
import { naturalKeyText } from '../src/engine/resources/content.js';
import { startTestServer, type TestServer } from './support/server.js';
import { evictAll } from './support/remote-fixtures.js';
import { OPERATIONAL_KINDS } from './support/stores.js';
import { kindTypes, returnsList, selectionOf } from './support/selections.js';

/**
 * Every read of one operation agrees with the store (issue 17, finding 11): a resource reached
 * by several paths in ONE operation - list items (root lists and nested lists, with their remote
 * references), by id, by natural key, through `_entities` by each @key - answers the same every
 * time. Generated from the served schema: every kind, every field two levels down (remote
 * references and their entities included), every root field that reads a kind.
 */

const schema = buildSchema();
const KINDS = kindTypes(schema);
const KIND_NAMES = new Set(KINDS.map((k) => k.name));
const query = schema.getQueryType()!;

/** One fragment per kind: the marker `_k` tells a full answer of the fragment from a nested, shallower one. */
const fragment = (k: GraphQLObjectType) => `fragment F_${k.name} on ${k.name} { _k: __typename ${selectionOf(schema, k, 2)} }`;

const kindOf = (t: unknown) => {
  const named = getNamedType(t as Parameters<typeof getNamedType>[0]);
  return named && isObjectType(named) && KIND_NAMES.has(named.name) ? named : null;
};

/**
 * Below a kind's fragment, every field that leads to another kind (lists and single references,
 * parents included), aliased `t_…` so it never merges with the fragment's own shallower field.
 */
function traverse(type: GraphQLObjectType, depth: number, from?: string): string {
  const parts = [`...F_${type.name}`];
  if (depth > 0) {
    for (const field of Object.values(type.getFields())) {
      const target = kindOf(field.type);
      if (!target || target.name === from || field.args.some((a) => isNonNullType(a.type))) continue;
      parts.push(`t_${field.name}: ${field.name} { ${traverse(target, depth - 1, type.name)} }`);
    }
  }
  return parts.join(' ');
}

interface Resource {
  id: string;
  kind: string;
  /** Identity values in order (project, compositeApp, ..., name). */
  identity: string[];
}

const quote = (v: string) => JSON.stringify(v);

describe.each(OPERATIONAL_KINDS)('every read of one operation agrees with the store on %s', (store) => {
  describe.each([
    ['compiled', '0'],
    ['interpreted', '1000000'],
  ])('%s execution', (_path, compileAfter) => {
    let s: TestServer;
    let resources: Resource[];
    let identityFields: Map<string, string[]>;

    beforeAll(async () => {
      s = await startTestServer(store, {
        seedDemo: true,
        env: {
          EXECUTION_COMPILE_AFTER: compileAfter,
          // The generated operations read everything many ways at once: above the default limits, which are not under test here.
          LIMIT_MAX_DEPTH: '100',
          LIMIT_MAX_ALIASES: '100000',
          LIMIT_MAX_TOKENS: '1000000',
          LIMIT_MAX_COST: String(Number.MAX_SAFE_INTEGER),
          LIMIT_MAX_LIST_ITEMS: '1000000',
          LIMIT_MAX_DIRECTIVES: '100000',
          LIMIT_MAX_OBJECTS: String(Number.MAX_SAFE_INTEGER),
          // Each operation reads every resource every way: on a busy machine it may take longer than a request's default 10 s.
          REQUEST_TIMEOUT_MS: '120000',
        },
      });
      const rel = s.app.engine.schema;
      identityFields = new Map([...rel.kinds.values()].map((k) => [k.name, k.identity]));
      resources = [];
      for (const kind of KIND_NAMES) {
        for (const r of await s.app.engine.list(kind, { first: 1000 })) {
          resources.push({ id: r.id, kind, identity: naturalKeyText(r.naturalKey).split('/') });
        }
      }
    });
    afterAll(async () => {
      await s?.close();
    });

    /** Values of a root field's required String arguments, by identity field name, from the stored resources. */
    const valuesOf = (arg: string): string[] => {
      const out = new Set<string>();
      for (const r of resources) {
        const at = identityFields.get(r.kind)!.indexOf(arg);
        if (at >= 0) out.add(r.identity[at]);
      }
      return [...out];
    };

    /** Root lists of kinds (each required argument filled with every stored value), traversed down. */
    const lists = (): string[] => {
      const out: string[] = [];
      for (const field of Object.values(query.getFields())) {
        const target = kindOf(field.type);
        if (!target || !returnsList(field)) continue;
        const required = field.args.filter((a) => isNonNullType(a.type));
        if (required.length > 1) throw new Error(`cannot fill ${field.name}'s arguments`);
        const calls = required.length ? valuesOf(required[0].name).map((v) => `(${required[0].name}: ${quote(v)})`) : [''];
        for (const [i, args] of calls.entries()) out.push(`l_${field.name}_${i}: ${field.name}${args} { ${traverse(target, 4)} }`);
      }
      if (!out.length) throw new Error('no root list reads a kind');
      return out;
    };

    /** `resource(id:)` and any other root field of the entity interface with one id argument. */
    const byId = (of: Resource[]): string[] =>
      Object.values(query.getFields())
        .filter((f) => getNamedType(f.type).name === 'Resource' && f.args.length === 1 && getNamedType(f.args[0].type).name === 'ID')
        .flatMap((f) => of.map((r, i) => `i_${f.name}_${i}: ${f.name}(${f.args[0].name}: ${quote(r.id)}) { ...F_${r.kind} }`));

    /** Root fields that read one resource of a kind by its natural key (their arguments are its identity fields). */
    const byNaturalKey = (of: Resource[]): string[] => {
      const out: string[] = [];
      for (const field of Object.values(query.getFields())) {
        const target = kindOf(field.type);
        if (!target || returnsList(field)) continue;
        of.filter((r) => r.kind === target.name).forEach((r, i) => {
          const identity = identityFields.get(r.kind)!;
          const args = field.args.map((a) => {
            const at = identity.indexOf(a.name);
            if (at < 0) throw new Error(`${field.name}(${a.name}:) is not an identity field of ${r.kind}`);
            return `${a.name}: ${quote(r.identity[at])}`;
          });
          out.push(`n_${field.name}_${i}: ${field.name}(${args.join(', ')}) { ...F_${r.kind} }`);
        });
      }
      return out;
    };

    /** Representations of a resource by each @key of its type and of the entity interface. */
    const representations = (r: Resource): Record<string, unknown>[] => {
      const type = schema.getType(r.kind)!;
      const keys = (type.astNode?.directives ?? [])
        .filter((d) => d.name.value === 'key')
        .map((d) => (d.arguments![0].value as { value: string }).value);
      // A nested key (`provider { name } name`) holds the identity's names, the innermost the first.
      const fill = (text: string, values: string[]): Record<string, unknown> => {
        const walk = (set: SelectionSetNode, vals: string[]): Record<string, unknown> =>
          Object.fromEntries(
            (set.selections as FieldNode[]).map((f) => [
              f.name.value,
              f.selectionSet ? walk(f.selectionSet, vals.slice(0, -1)) : vals[vals.length - 1],
            ]),
          );
        return walk((parse(`{ ${text} }`).definitions[0] as OperationDefinitionNode).selectionSet, values);
      };
      const naturalKey = r.identity.join('/');
      const reps = keys.map((key) => {
        if (key === 'id') return { id: r.id };
        if (key === 'kind naturalKey') return { kind: r.kind, naturalKey };
        return fill(key, r.identity);
      });
      return [
        ...reps.map((rep) => ({ __typename: r.kind, ...rep })),
        { __typename: 'Resource', id: r.id },
        { __typename: 'Resource', kind: r.kind, naturalKey },
      ];
    };

    const entities = (of: Resource[]) =>
      `e: _entities(representations: ${JSON.stringify(of.flatMap(representations)).replace(/"(\w+)":/g, '$1:')}) { ${KINDS.map((k) => `... on ${k.name} { ...F_${k.name} }`).join(' ')} }`;

    /** One operation of the given root selections, with the fragments they use. */
    const operation = (roots: string[]) => {
      const body = roots.join('\n');
      const used = KINDS.filter((k) => body.includes(`...F_${k.name}`)).map(fragment);
      return `query Consistency($at: DateTime!) {\n${body}\n}\n${used.join('\n')}`;
    };

    /** Every full fragment answer in the response, by resource id, with where it was found. */
    const answersById = (data: unknown) => {
      const by = new Map<string, { at: string; value: Record<string, unknown> }[]>();
      const walk = (v: unknown, at: string) => {
        if (Array.isArray(v)) {
          for (const [i, x] of v.entries()) walk(x, `${at}[${i}]`);
          return;
        }
        if (!v || typeof v !== 'object') return;
        const o = v as Record<string, unknown>;
        if (o._k) {
          const own = Object.fromEntries(Object.entries(o).filter(([k]) => !k.startsWith('t_')));
          const list = by.get(o.id as string) ?? [];
          list.push({ at, value: own });
          by.set(o.id as string, list);
        }
        for (const [k, x] of Object.entries(o)) walk(x, `${at}.${k}`);
      };
      walk(data, '');
      return by;
    };

    const run = async (roots: string[]) => {
      const res = await s.gql(operation(roots), { at: new Date().toISOString() });
      expect(res.errors).toBeUndefined();
      return answersById(res.data);
    };

    const expectAgreement = (by: Map<string, { at: string; value: Record<string, unknown> }[]>) => {
      for (const [id, answers] of by) {
        for (const a of answers.slice(1)) {
          expect({ id, at: a.at, value: a.value }).toEqual({ id, at: a.at, value: answers[0].value });
        }
      }
    };

    it.each(['cached', 'evicted (every path refills from the client store)'])(
      'one operation reading every resource by every path, remote entities %s: list items, by id, by natural key and _entities agree',
      async (cache) => {
        if (cache !== 'cached') await evictAll(s);
        const by = await run([...lists(), ...byId(resources), ...byNaturalKey(resources), entities(resources)]);
        for (const r of resources)
          expect(by.get(r.id)?.length, `${r.kind} ${r.identity.join('/')}`).toBeGreaterThanOrEqual(1 + representations(r).length);
        expectAgreement(by);
        // The demo data has remote references on both paths: they must be there, not only agree.
        const owners = [...by.values()]
          .flat()
          .filter((a) => a.value._k === 'DeploymentIntentGroup')
          .map((a) => a.value.owner as { status: string } | null);
        expect(owners.length).toBeGreaterThan(0);
        expect(owners.every((o) => o?.status === 'FRESH')).toBe(true);
        const accounts = [...by.values()]
          .flat()
          .filter((a) => a.value._k === 'Project')
          .map((a) => a.value.billingAccount as { status: string } | null);
        expect(accounts.every((o) => o?.status === 'FRESH')).toBe(true);
      },
    );

    // The shapes of the finding, one kind at a time: the lists beside one other path.
    const PAIRS: [string, (of: Resource[]) => string[]][] = [
      ['by id', byId],
      ['by natural key', byNaturalKey],
      ['through _entities', (of) => [entities(of)]],
    ];
    const naturalKeyRoots = new Set(
      Object.values(query.getFields()).flatMap((f) => (kindOf(f.type) && !returnsList(f) ? [kindOf(f.type)!.name] : [])),
    );
    for (const kind of KIND_NAMES) {
      for (const [name, other] of PAIRS) {
        if (name === 'by natural key' && !naturalKeyRoots.has(kind)) continue;
        it(`${kind}: the lists and its resources read ${name} in one operation agree`, async () => {
          const of = resources.filter((r) => r.kind === kind);
          const others = other(of);
          expect(others.length).toBeGreaterThan(0);
          const by = await run([...lists(), ...others]);
          for (const r of of) expect(by.get(r.id)?.length, `${kind} ${r.identity.join('/')}`).toBeGreaterThanOrEqual(1);
          expectAgreement(by);
        });
      }
    }
  });
});
