import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { composeServices } from '@apollo/composition';
import { printSubgraphSchema } from '@apollo/subgraph';
import { Kind, parse, type ObjectTypeDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRelationshipSchema } from '../src/engine/schema/load.js';
import { buildSchema } from '../src/server/schema.js';
import { ROOT } from './fixtures/subgraph-process.js';
import { OPERATIONAL_KINDS } from './support/stores.js';
import { startTestServer, type TestServer } from './support/server.js';

const run = promisify(execFile);

const KINDS = [...loadRelationshipSchema().kinds.keys()];

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
      expect(keys, `${type.name.value} has no @key(fields: "id")`).toContainEqual(expect.objectContaining({ kind: Kind.STRING, value: 'id' }));
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
});
