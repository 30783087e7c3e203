import { composeServices } from '@apollo/composition';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { parse } from 'graphql';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { supergraphForApolloGateway } from '../src/server/auth/gateway-compat.js';
import { codes, startTestServer, type GraphQLResponse, type TestServer } from './support/server.js';
import { as, jwtEnv } from './support/tokens.js';

process.env.APOLLO_TELEMETRY_DISABLED = 'true';

interface RouterContext {
  authorization?: string;
}

/** The README's recipe: a gateway that forwards the caller's Authorization header to the subgraph. */
describe('behind @apollo/gateway forwarding the Authorization header (SQLite)', () => {
  let s: TestServer;
  let router: ApolloServer<RouterContext>;
  let url: string;
  beforeAll(async () => {
    s = await startTestServer('sqlite', { env: jwtEnv(), seedDemo: true });
    // What a router reads first: `_service` stays open without a token.
    const { _service } = await s.ok<{ _service: { sdl: string } }>('{ _service { sdl } }');
    expect(_service.sdl).toContain('@requiresScopes');
    const composed = composeServices([{ name: 'integrity', url: s.url, typeDefs: parse(_service.sdl) }]);
    if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
    const gateway = new ApolloGateway({
      // The gateway rejects `for: SECURITY` links it does not implement; the subgraph enforces them.
      supergraphSdl: supergraphForApolloGateway(composed.supergraphSdl),
      buildService: ({ url: subgraphUrl }) =>
        new RemoteGraphQLDataSource<RouterContext>({
          url: subgraphUrl,
          willSendRequest({ request, context }) {
            if (context.authorization) request.http?.headers.set('authorization', context.authorization);
          },
        }),
    });
    router = new ApolloServer<RouterContext>({ gateway });
    ({ url } = await startStandaloneServer(router, {
      listen: { port: 0, host: '127.0.0.1' },
      context: async ({ req }) => ({ authorization: req.headers.authorization }),
    }));
  });
  afterAll(async () => {
    await router?.stop();
    await s?.close();
  });

  const viaRouter = async (query: string, headers: Record<string, string> = {}) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query }),
    });
    return (await res.json()) as GraphQLResponse;
  };

  it('passes the token through: refused without one, confined by its projects claim with one', async () => {
    const q = '{ projects { name } }';
    expect(codes(await viaRouter(q))).toEqual(['UNAUTHENTICATED']);
    expect((await viaRouter(q, await as('reader', ['integrity:read']))).data).toEqual({
      projects: [{ name: 'retail' }, { name: 'logistics' }],
    });
    expect((await viaRouter(q, await as('rita', ['integrity:read'], ['retail']))).data).toEqual({ projects: [{ name: 'retail' }] });
    expect(codes(await viaRouter('mutation { collectGarbage { deleted } }', await as('reader', ['integrity:read'])))).toEqual([
      'FORBIDDEN',
    ]);
  });
});
