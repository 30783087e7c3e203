import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { composeServices } from '@apollo/composition';
import { printSubgraphSchema } from '@apollo/subgraph';
import { Kind, parse, type ObjectTypeDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMPLOYEES_SDL } from '../examples/employees-subgraph/server.js';
import { composeSupergraph, demoSubgraphs } from '../examples/supergraph/compose.js';
import { loadRelationshipSchema } from '../src/model/load.js';
import type { KindDef } from '../src/model/model.js';
import { buildSchema } from '../src/server/schema.js';
import { ROOT } from './fixtures/subgraph-process.js';
import { OPERATIONAL_KINDS } from './support/stores.js';
import { execClientSql } from '../src/remote/client-demo.js';
import { hashKey } from '../src/remote/hash.js';
import { countingRemote, evictAll, remoteRefRows } from './support/remote-fixtures.js';
import { startTestServer, type TestServer } from './support/server.js';

const run = promisify(execFile);

const RELATIONSHIPS = loadRelationshipSchema();
const KINDS = [...RELATIONSHIPS.kinds.keys()];

/** A kind's natural identity as a federation field set: the parent nested under the parent's field, then `name`. */
const naturalKeyFields = (kind: KindDef): string =>
  kind.parent ? `${RELATIONSHIPS.kind(kind.parent).key} { ${naturalKeyFields(RELATIONSHIPS.kind(kind.parent))} } name` : 'name';

const keysOf = (doc: ReturnType<typeof parse>, typeName: string) => {
  const def = doc.definitions.find((d) => 'name' in d && d.name?.value === typeName) as ObjectTypeDefinitionNode | undefined;
  return (def?.directives ?? [])
    .filter((d) => d.name.value === 'key')
    .map((d) => (d.arguments?.find((a) => a.name.value === 'fields')?.value as { value: string } | undefined)?.value ?? '');
};

const compose = (...subgraphs: { name: string; sdl: string }[]) =>
  composeServices(subgraphs.map((g) => ({ name: g.name, url: `http://${g.name}.local/graphql`, typeDefs: parse(g.sdl) })));

/** The issue's scenario: a subgraph that owns Employee and BankAccount, marking the same fields @shareable. */
const MINIMAL_OWNER = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])
  type Employee @key(fields: "employeeId") {
    employeeId: ID!
    name: String! @shareable
    email: String @shareable
    department: String @shareable
    title: String
  }
  type BankAccount @key(fields: "number owner") {
    number: String!
    owner: String!
    bank: String @shareable
    currency: String @shareable
    iban: String
  }
  type Query { employee(employeeId: ID!): Employee }
`;

describe('the subgraph SDL', () => {
  let printed: string;
  beforeAll(async () => {
    const { stdout } = await run('npm', ['run', '-s', 'schema:print'], { cwd: ROOT, env: { ...process.env, CI: 'true' }, timeout: 60_000 });
    printed = stdout;
  });

  it('npm run schema:print prints the federated SDL of the served schema', () => {
    expect(printed.trim()).toBe(printSubgraphSchema(buildSchema()).trim());
  });

  it('links federation v2', () => {
    expect(printed).toContain('@link(url: "https://specs.apollo.dev/federation/v2');
  });

  it('makes every resource type an entity with @key(fields: "id")', () => {
    const doc = parse(printed);
    const objects = doc.definitions.filter((d): d is ObjectTypeDefinitionNode => d.kind === Kind.OBJECT_TYPE_DEFINITION);
    const resources = objects.filter((d) => d.interfaces?.some((i) => i.name.value === 'Resource'));
    // Every kind of the relationship schema has its type, and nothing else implements Resource.
    expect(resources.map((d) => d.name.value).sort()).toEqual([...KINDS].sort());
    for (const type of resources) {
      const keys = (type.directives ?? [])
        .filter((d) => d.name.value === 'key')
        .map((d) => d.arguments?.find((a) => a.name.value === 'fields')?.value);
      expect(keys, `${type.name.value} has no @key(fields: "id")`).toContainEqual(
        expect.objectContaining({ kind: Kind.STRING, value: 'id' }),
      );
    }
    expect(printed).toMatch(/type Cluster implements Resource\s+@key\(fields: "id"\)/);
  });

  it('composes with another subgraph into a supergraph', () => {
    const inventory = `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
      type Cluster @key(fields: "id") {
        id: ID!
        capacity: Int
      }
      type Query {
        clusterCapacity(id: ID!): Int
      }
    `;
    const result = composeServices([
      { name: 'integrity', url: 'http://integrity.local/graphql', typeDefs: parse(printed) },
      { name: 'inventory', url: 'http://inventory.local/graphql', typeDefs: parse(inventory) },
    ]);
    expect(result.errors?.map((e) => e.message) ?? []).toEqual([]);
    expect(result.supergraphSdl).toContain('join__graph(name: "inventory"');
    // The supergraph's API schema (federation's own Schema model: graphql-js objects of another realm).
    const api = result.schema!.toAPISchema();
    const cluster = api.type('Cluster');
    expect(cluster?.kind).toBe('ObjectType');
    const fieldsOf = (name: string) => [...(api.type(name) as unknown as { fields(): Array<{ name: string; type: unknown }> }).fields()];
    const fields = fieldsOf('Cluster');
    expect(fields.map((f) => f.name)).toEqual(expect.arrayContaining(['id', 'name', 'provider', 'labels', 'capacity']));
    expect(String(fields.find((f) => f.name === 'capacity')!.type)).toBe('Int');
    expect(api.type('DeploymentIntentGroup')?.kind).toBe('ObjectType');
    const query = fieldsOf('Query').map((f) => f.name);
    expect(query).toEqual(expect.arrayContaining(['clusterCapacity', 'deploymentIntentGroups', 'projects']));
    // The API schema hides the federation plumbing.
    expect(query).not.toContain('_entities');
  });

  it('makes Resource an entity interface and gives every kind its natural identity as a second @key', () => {
    const doc = parse(printed);
    expect(printed).toMatch(/interface Resource\s+@key\(fields: "id"\)\s+@key\(fields: "kind naturalKey"\)/);
    // Every key of an entity interface must be on each implementation: hence the third one.
    for (const kind of RELATIONSHIPS.kinds.values()) {
      expect(keysOf(doc, kind.name), kind.name).toEqual(['id', naturalKeyFields(kind), 'kind naturalKey']);
    }
    expect(keysOf(doc, 'Project')).toEqual(['id', 'name', 'kind naturalKey']);
    expect(keysOf(doc, 'Cluster')).toEqual(['id', 'provider { name } name', 'kind naturalKey']);
  });

  it('makes the remote types entities keyed by their remote key, with @shareable fields', () => {
    const doc = parse(printed);
    for (const type of RELATIONSHIPS.remoteTypes.values()) {
      expect(keysOf(doc, type.name)).toEqual([type.key.join(' ')]);
      const def = doc.definitions.find((d) => 'name' in d && d.name?.value === type.name) as ObjectTypeDefinitionNode;
      for (const field of type.fields.filter((f) => !type.key.includes(f))) {
        const f = def.fields!.find((x) => x.name.value === field)!;
        expect(
          f.directives?.map((d) => d.name.value),
          `${type.name}.${field}`,
        ).toContain('shareable');
      }
    }
  });

  it('composes alone, and next to a subgraph that owns Employee and BankAccount, with no errors and no hints', () => {
    for (const result of [
      compose({ name: 'integrity', sdl: printed }),
      compose({ name: 'integrity', sdl: printed }, { name: 'owner', sdl: MINIMAL_OWNER }),
      compose({ name: 'integrity', sdl: printed }, { name: 'employees', sdl: EMPLOYEES_SDL }),
      // An owner that also serves the employee list: Query.employees is @shareable here too.
      compose(
        { name: 'integrity', sdl: printed },
        {
          name: 'owner',
          sdl: MINIMAL_OWNER.replace('type Query {', 'type Query { employees(first: Int = 50, after: ID): [Employee!]! @shareable'),
        },
      ),
    ]) {
      expect(result.errors?.map((e) => e.message) ?? []).toEqual([]);
      expect((result.hints ?? []).map((h) => h.message)).toEqual([]);
    }
  });

  it('writes valid SDL to a file: `npm run -s schema:print > file` and `npm run schema:write -- file` both compose', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sdl-'));
    const redirected = join(dir, 'printed.graphql');
    const written = join(dir, 'written.graphql');
    await run('sh', ['-c', `npm run -s schema:print > "${redirected}"`], {
      cwd: ROOT,
      env: { ...process.env, CI: 'true' },
      timeout: 60_000,
    });
    await run('npm', ['run', 'schema:write', '--', written], { cwd: ROOT, env: { ...process.env, CI: 'true' }, timeout: 60_000 });
    for (const file of [redirected, written]) {
      const sdl = readFileSync(file, 'utf8');
      expect(sdl.trim()).toBe(printed.trim());
      const result = compose({ name: 'integrity', sdl }, { name: 'employees', sdl: EMPLOYEES_SDL });
      expect(result.errors?.map((e) => e.message) ?? [], file).toEqual([]);
    }
  });

  it('npm run supergraph:compose writes the demo supergraph to a file', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'supergraph-')), 'supergraph.graphql');
    await run('npm', ['run', 'supergraph:compose', '--', out], {
      cwd: ROOT,
      env: { ...process.env, CI: 'true', INTEGRITY_URL: 'http://integrity:4001/graphql' },
      timeout: 60_000,
    });
    const sdl = readFileSync(out, 'utf8');
    parse(sdl);
    expect(sdl).toContain('join__graph(name: "employees", url: "http://127.0.0.1:4002/graphql")');
    expect(sdl).toContain('join__graph(name: "integrity", url: "http://integrity:4001/graphql")');
    expect(sdl.trim()).toBe(
      composeSupergraph(
        demoSubgraphs({ integrity: 'http://integrity:4001/graphql', employees: 'http://127.0.0.1:4002/graphql' }),
      ).supergraphSdl.trim(),
    );
  });
});

describe.each(OPERATIONAL_KINDS)('_entities on %s', (store) => {
  let s: TestServer;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    s = await startTestServer(store);
    const d = await s.ok(`mutation {
      p: createProject(input: { name: "fed" }) { id }
      q: createProject(input: { name: "fed2" }) { id }
      a: createCompositeApp(input: { project: "fed", name: "app" }) { id }
      f: createCompositeProfile(input: { project: "fed", compositeApp: "app", name: "prof" }) { id }
      v: createClusterProvider(input: { name: "prov" }) { id }
      c: createCluster(input: { provider: "prov", name: "c1", labels: ["gpu"] }) { id }
    }`);
    const g = await s.ok(`mutation {
      g: createDeploymentIntentGroup(input: { project: "fed", compositeApp: "app", compositeProfile: "prof", name: "grp",
        clusters: [{ provider: "prov", name: "c1" }] }) { id }
    }`);
    for (const [k, v] of Object.entries({ ...d, ...g })) ids[k] = (v as { id: string }).id;
  });
  afterAll(async () => {
    await s?.close();
  });

  const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) {
    __typename
    ... on Project { id name }
    ... on Cluster { id name labels provider { name } }
    ... on DeploymentIntentGroup { id name compositeProfile { name } clusters { name } }
  } }`;

  it('resolves several kinds at once, in order, with null for unknown ids and ids of another kind', async () => {
    const unknown = '01900000-0000-7000-8000-000000000000';
    const { _entities } = await s.ok(ENTITIES, {
      r: [
        { __typename: 'DeploymentIntentGroup', id: ids.g },
        { __typename: 'Project', id: ids.p },
        { __typename: 'Project', id: unknown },
        { __typename: 'Cluster', id: ids.c },
        { __typename: 'Cluster', id: ids.p }, // a project's id asked for as a Cluster
        { __typename: 'Project', id: ids.q },
      ],
    });
    expect(_entities).toEqual([
      { __typename: 'DeploymentIntentGroup', id: ids.g, name: 'grp', compositeProfile: { name: 'prof' }, clusters: [{ name: 'c1' }] },
      { __typename: 'Project', id: ids.p, name: 'fed' },
      null,
      { __typename: 'Cluster', id: ids.c, name: 'c1', labels: ['gpu'], provider: { name: 'prov' } },
      null,
      { __typename: 'Project', id: ids.q, name: 'fed2' },
    ]);
  });

  it('batches __resolveReference: 30 representations cost the same statements as 3', async () => {
    const mutation = `mutation { ${Array.from({ length: 30 }, (_, i) => `c${i}: createCluster(input: { provider: "prov", name: "b${i}" }) { id }`).join('\n')} }`;
    const created = Object.values(await s.ok<Record<string, { id: string }>>(mutation)).map((c) => c.id);
    expect(created).toHaveLength(30);
    const count = async (n: number) => {
      const reps = created.slice(0, n).map((id) => ({ __typename: 'Cluster', id }));
      const { res, statements } = await s.countedGql<{ _entities: any[] }>(ENTITIES, { r: reps });
      expect(res.errors).toBeUndefined();
      expect(res.data!._entities.map((e) => e.name)).toEqual(Array.from({ length: n }, (_, i) => `b${i}`));
      expect(res.data!._entities.every((e) => e.provider.name === 'prov')).toBe(true);
      return statements.length;
    };
    const three = await count(3);
    const thirty = await count(30);
    expect(thirty).toBe(three);
    expect(three).toBeGreaterThan(0);
    expect(three).toBeLessThanOrEqual(4);
  });

  it('resolves every kind by its natural key (nested as the second @key), and unknown or malformed names to null', async () => {
    const { _entities } = await s.ok(`query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Resource { id } } }`, {
      r: [
        { __typename: 'Project', name: 'fed' },
        { __typename: 'CompositeApp', project: { name: 'fed' }, name: 'app' },
        { __typename: 'CompositeProfile', compositeApp: { project: { name: 'fed' }, name: 'app' }, name: 'prof' },
        {
          __typename: 'DeploymentIntentGroup',
          compositeProfile: { compositeApp: { project: { name: 'fed' }, name: 'app' }, name: 'prof' },
          name: 'grp',
        },
        { __typename: 'ClusterProvider', name: 'prov' },
        { __typename: 'Cluster', provider: { name: 'prov' }, name: 'c1' },
        { __typename: 'Project', name: 'nope' },
        { __typename: 'Cluster', provider: { name: 'nope' }, name: 'c1' },
        { __typename: 'Cluster', provider: { name: 'prov' }, name: 'bad name!' },
      ],
    });
    expect(_entities).toEqual([
      { __typename: 'Project', id: ids.p },
      { __typename: 'CompositeApp', id: ids.a },
      { __typename: 'CompositeProfile', id: ids.f },
      { __typename: 'DeploymentIntentGroup', id: ids.g },
      { __typename: 'ClusterProvider', id: ids.v },
      { __typename: 'Cluster', id: ids.c },
      null,
      null,
      null,
    ]);
  });

  it('refuses a representation that does not carry a whole key of its type, naming it, before looking any up', async () => {
    const q = `query($r: [_Any!]!) { _entities(representations: $r) { __typename } }`;
    for (const [bad, message] of [
      [{ __typename: 'Cluster', name: 'c1' }, /representations\[1\] does not carry a key of Cluster/],
      [{ __typename: 'CompositeApp', project: 'fed', name: 'app' }, /project must be an object/],
      [{ __typename: 'Nope', id: ids.p }, /Nope is not an entity type/],
      [{ id: ids.p }, /representations\[1\] has no __typename/],
    ] as const) {
      const res = await s.gql(q, { r: [{ __typename: 'Project', id: ids.p }, bad] });
      expect(res.data).toBeNull();
      expect(res.errors).toHaveLength(1);
      expect(res.errors![0]).toMatchObject({ path: ['_entities'], extensions: { code: 'BAD_USER_INPUT' } });
      expect(res.errors![0].message).toMatch(message);
    }
  });

  it('resolves the entity interface by id or by `kind naturalKey` to the concrete kind; unknown is null', async () => {
    const { _entities } = await s.ok(
      `query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Resource { id kind naturalKey } ... on Cluster { name } } }`,
      {
        r: [
          { __typename: 'Resource', id: ids.c },
          { __typename: 'Resource', id: '01900000-0000-7000-8000-000000000000' },
          { __typename: 'Resource', id: ids.p },
          { __typename: 'Resource', kind: 'DeploymentIntentGroup', naturalKey: 'fed/app/prof/grp' },
          { __typename: 'Resource', kind: 'Cluster', naturalKey: 'prov/c1' },
          { __typename: 'Cluster', kind: 'Cluster', naturalKey: 'prov/c1' },
          { __typename: 'Project', kind: 'Cluster', naturalKey: 'prov/c1' },
          { __typename: 'Resource', kind: 'Cluster', naturalKey: 'prov' },
          { __typename: 'Resource', kind: 'Cluster', naturalKey: 'prov/c1/x' },
          { __typename: 'Resource', kind: 'Nope', naturalKey: 'fed' },
          { __typename: 'Resource', kind: 'Project', naturalKey: 'nope' },
        ],
      },
    );
    const cluster = { __typename: 'Cluster', id: ids.c, kind: 'Cluster', naturalKey: 'prov/c1', name: 'c1' };
    expect(_entities).toEqual([
      cluster,
      null,
      { __typename: 'Project', id: ids.p, kind: 'Project', naturalKey: 'fed' },
      { __typename: 'DeploymentIntentGroup', id: ids.g, kind: 'DeploymentIntentGroup', naturalKey: 'fed/app/prof/grp' },
      cluster,
      cluster,
      null,
      null,
      null,
      null,
      null,
    ]);
  });

  it('batches natural keys: one statement per kind, 30 representations cost the same as 3', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `n${i}`);
    await s.ok(`mutation { ${names.map((n, i) => `c${i}: createCluster(input: { provider: "prov", name: "${n}" }) { id }`).join('\n')} }`);
    const q = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Cluster { name } ... on Project { name } } }`;
    const count = async (n: number) => {
      const reps = [
        ...names.slice(0, n).map((name) => ({ __typename: 'Cluster', provider: { name: 'prov' }, name })),
        ...names.slice(0, n).map((name) => ({ __typename: 'Project', name })),
      ];
      const { res, statements } = await s.countedGql<{ _entities: ({ name: string } | null)[] }>(q, { r: reps });
      expect(res.errors).toBeUndefined();
      expect(res.data!._entities).toEqual([...names.slice(0, n).map((name) => ({ name })), ...Array(n).fill(null)]);
      return statements.length;
    };
    const three = await count(3);
    expect(await count(30)).toBe(three);
    expect(three).toBe(2); // clusters, projects
  });
});

describe.each(OPERATIONAL_KINDS)('remote entities (Employee, BankAccount) through _entities on %s', (store) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(store, { env: { AUTH_MODE: 'none' } });
    await s.ok(`mutation {
      p: createProject(input: { name: "pay", billingAccount: { number: "ACC-1001", owner: "e-2" } }) { id }
      a: createCompositeApp(input: { project: "pay", name: "app" }) { id }
      f: createCompositeProfile(input: { project: "pay", compositeApp: "app", name: "prof" }) { id }
    }`);
    await s.ok(
      `mutation { ${Array.from(
        { length: 12 },
        (_, i) => `g${i}: createDeploymentIntentGroup(input: { project: "pay", compositeApp: "app",
      compositeProfile: "prof", name: "g${i}", owner: { employeeId: "e-${i + 1}" } }) { id }`,
      ).join('\n')} }`,
    );
  });
  afterAll(async () => {
    await s?.close();
  });

  const Q = `query($r: [_Any!]!) { _entities(representations: $r) {
    __typename
    ... on Employee { employeeId name department referencedBy { path from { ... on DeploymentIntentGroup { name } } } }
    ... on BankAccount { number owner bank referencedBy { path from { kind } } }
  } }`;
  const employees = (n: number) => Array.from({ length: n }, (_, i) => ({ __typename: 'Employee', employeeId: `e-${i + 1}` }));

  it('serves cached entities from the remote_ref cache without a remote query; unknown keys are null', async () => {
    const { result, remote } = await countingRemote(s, () =>
      s.ok(Q, {
        r: [
          { __typename: 'Employee', employeeId: 'e-3' },
          { __typename: 'BankAccount', number: 'ACC-1001', owner: 'e-2' },
          { __typename: 'Employee', employeeId: 'e-404' },
          { __typename: 'BankAccount', number: 'ACC-1001', owner: 'e-404' },
        ],
      }),
    );
    expect(result._entities).toEqual([
      {
        __typename: 'Employee',
        employeeId: 'e-3',
        name: 'Grace Hopper',
        department: 'Engineering',
        referencedBy: [{ path: 'owner', from: { name: 'g2' } }],
      },
      {
        __typename: 'BankAccount',
        number: 'ACC-1001',
        owner: 'e-2',
        bank: 'First Analytical Bank',
        referencedBy: [{ path: 'billingAccount', from: { kind: 'Project' } }],
      },
      null,
      null,
    ]);
    // Only the unknown keys were asked of the store (read through): one query per type.
    expect(remote).toBe(2);
  });

  it('reads a key no document refers to through from its store, without caching it', async () => {
    const before = (await remoteRefRows(s)).length;
    const { result, remote } = await countingRemote(s, () =>
      s.ok(Q, {
        r: [
          { __typename: 'Employee', employeeId: 'e-20' },
          { __typename: 'BankAccount', number: 'ACC-1002', owner: 'e-1' },
        ],
      }),
    );
    expect(result._entities).toEqual([
      { __typename: 'Employee', employeeId: 'e-20', name: 'Katherine Johnson', department: null, referencedBy: [] },
      { __typename: 'BankAccount', number: 'ACC-1002', owner: 'e-1', bank: 'Difference Engine Savings', referencedBy: [] },
    ]);
    expect(remote).toBe(2);
    expect((await remoteRefRows(s)).length).toBe(before);
  });

  it('batches: 12 employees cost the statements and remote queries of 2, warm or evicted (one remote query per type)', async () => {
    const measure = async (n: number) => {
      const { result, remote } = await countingRemote(s, () => s.countedGql<{ _entities: { name: string }[] }>(Q, { r: employees(n) }));
      expect(result.res.errors).toBeUndefined();
      expect(result.res.data!._entities.map((e) => e.name)).toHaveLength(n);
      return { statements: result.statements.length, remote };
    };
    const warm2 = await measure(2);
    const warm12 = await measure(12);
    expect(warm12).toEqual(warm2);
    expect(warm2.remote).toBe(0);
    await evictAll(s);
    const cold12 = await measure(12);
    expect(cold12.remote).toBe(1);
    // Refilled: warm again.
    expect(await measure(12)).toEqual(warm12);
    await evictAll(s);
    expect(await measure(2)).toEqual(cold12);
  });

  it('answers REMOTE_SOURCE_UNAVAILABLE in place of an entity the cache lacks while its store is down; cached ones still resolve', async () => {
    await s.ok(Q, { r: employees(12) }); // every cached row filled
    await s.app.db.execute(`UPDATE remote_ref SET cached_entity = NULL WHERE entity_type = 'Employee' AND remote_hash_key = ?`, [
      hashKey({ employeeId: 'e-4' }),
    ]);
    await execClientSql(s.clientUrl, ['ALTER TABLE employee RENAME TO employee_gone']);
    try {
      const res = await s.gql<{ _entities: unknown[] }>(Q, {
        r: employees(4).slice(2).concat({ __typename: 'Employee', employeeId: 'e-20' }),
      });
      expect(res.data!._entities).toEqual([
        {
          __typename: 'Employee',
          employeeId: 'e-3',
          name: 'Grace Hopper',
          department: 'Engineering',
          referencedBy: [{ path: 'owner', from: { name: 'g2' } }],
        },
        null,
        null,
      ]);
      expect(res.errors!.map((e) => [e.path, e.extensions?.code])).toEqual([
        [['_entities', 1], 'REMOTE_SOURCE_UNAVAILABLE'],
        [['_entities', 2], 'REMOTE_SOURCE_UNAVAILABLE'],
      ]);
      expect(res.errors![0].message).toMatch(/unavailable/);
    } finally {
      await execClientSql(s.clientUrl, ['ALTER TABLE employee_gone RENAME TO employee']);
    }
  });
});
