import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { gql } from 'graphql-tag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RemoteTypeDef } from '../src/model/model.js';
import { hashKey } from '../src/remote/hash.js';
import { GraphqlSource } from '../src/remote/sources/graphql-source.js';
import { SourceUnavailableError } from '../src/remote/sources/source.js';

const EMPLOYEES = new Map(
  [
    { employeeId: 'e-1', name: 'Ada Lovelace', email: 'ada@example.com', department: 'Engineering' },
    { employeeId: 'e-2', name: 'Alan Turing', email: null, department: 'Engineering' },
    { employeeId: 'e-3', name: 'Grace Hopper', email: 'grace@example.com', department: null },
  ].map((e) => [e.employeeId, e]),
);

const Employee: RemoteTypeDef = {
  name: 'Employee',
  source: 'hr',
  typename: 'Employee',
  key: ['employeeId'],
  columns: {},
  fields: ['employeeId', 'name', 'email', 'department'],
};

const typeDefs = gql`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  type Employee @key(fields: "employeeId") {
    employeeId: ID!
    name: String!
    email: String
    department: String
  }
  type Query {
    employeeCount: Int!
  }
`;

describe('GraphqlSource against a real subgraph', () => {
  let server: ApolloServer;
  let url: string;
  let posts = 0;

  beforeAll(async () => {
    server = new ApolloServer({
      schema: buildSubgraphSchema({
        typeDefs,
        resolvers: {
          Query: { employeeCount: () => EMPLOYEES.size },
          Employee: {
            __resolveReference(ref: { employeeId: string }) {
              if (ref.employeeId === 'boom') throw new Error('directory lookup failed');
              return EMPLOYEES.get(ref.employeeId) ?? null;
            },
          },
        },
      }),
      plugins: [ApolloServerPluginInlineTraceDisabled(), { requestDidStart: async () => void posts++ }],
    });
    ({ url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } }));
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('fetches found entities and leaves missing ones out', async () => {
    const source = new GraphqlSource('hr', url);
    const found = await source.fetchMany(Employee, [{ employeeId: 'e-1' }, { employeeId: 'nobody' }, { employeeId: 'e-2' }]);
    expect(found.size).toBe(2);
    expect(found.get(hashKey({ employeeId: 'e-1' }))).toEqual(EMPLOYEES.get('e-1'));
    expect(found.get(hashKey({ employeeId: 'e-2' }))).toEqual(EMPLOYEES.get('e-2'));
    expect(found.has(hashKey({ employeeId: 'nobody' }))).toBe(false);
  });

  it('sends one POST per chunk of keys', async () => {
    const small = new GraphqlSource('hr', url, { chunkSize: 2 });
    const described: string[] = [];
    small.onQuery((q) => described.push(q));
    const before = posts;
    const found = await small.fetchMany(
      Employee,
      ['e-1', 'e-2', 'e-3', 'x-1', 'x-2'].map((employeeId) => ({ employeeId })),
    );
    expect(posts - before).toBe(3);
    expect(described).toHaveLength(3);
    expect(described[0]).toContain('_entities(Employee × 2)');
    expect([...found.keys()].sort()).toEqual(['e-1', 'e-2', 'e-3'].map((employeeId) => hashKey({ employeeId })).sort());

    const big = new GraphqlSource('hr', url);
    const mid = posts;
    const keys = Array.from({ length: 1200 }, (_, i) => ({ employeeId: i < 3 ? `e-${i + 1}` : `x-${i}` }));
    expect((await big.fetchMany(Employee, keys)).size).toBe(3);
    expect(posts - mid).toBe(3);
  });

  it("turns GraphQL errors into SourceUnavailableError, keeping the subgraph's own words for the log", async () => {
    const source = new GraphqlSource('hr', url);
    const err = await source.fetchMany(Employee, [{ employeeId: 'e-1' }, { employeeId: 'boom' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceUnavailableError);
    expect((err as SourceUnavailableError).source).toBe('hr');
    expect((err as Error).message).toBe('hr subgraph unavailable: it answered with errors');
    expect(((err as Error).cause as Error).message).toContain('directory lookup failed');
  });

  it('cannot list entities', async () => {
    const source = new GraphqlSource('hr', url);
    const err = await source.list(Employee, 10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceUnavailableError);
    expect((err as Error).message).toMatch(/cannot list entities/);
  });

  it('turns an HTTP error into SourceUnavailableError', async () => {
    const broken: Server = createServer((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/plain' }).end('upstream down');
    });
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    try {
      const source = new GraphqlSource('hr', `http://127.0.0.1:${(broken.address() as AddressInfo).port}/graphql`);
      const err = await source.fetchMany(Employee, [{ employeeId: 'e-1' }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SourceUnavailableError);
      expect((err as Error).message).toBe('hr subgraph unavailable: HTTP 502 Bad Gateway');
    } finally {
      await new Promise((resolve) => broken.close(resolve));
    }
  });

  // Last: it stops the shared server.
  it('reports a stopped subgraph as SourceUnavailableError', async () => {
    const source = new GraphqlSource('hr', url);
    expect((await source.fetchMany(Employee, [{ employeeId: 'e-3' }])).size).toBe(1);
    await server.stop();
    // The first call may still find a kept-alive socket that the stop closed ("other side closed").
    const first = await source.fetchMany(Employee, [{ employeeId: 'e-3' }]).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(SourceUnavailableError);
    expect((first as Error).message).toMatch(/^hr subgraph unavailable: \S/);
    const err = await source.fetchMany(Employee, [{ employeeId: 'e-3' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceUnavailableError);
    expect((err as Error).message).toBe('hr subgraph unavailable: refused the connection');
  });
});
