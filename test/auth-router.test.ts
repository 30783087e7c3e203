import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { supergraphForApolloGateway } from '../src/server/auth/gateway-compat.js';
import { type ForwardingRouter, startForwardingRouter } from './support/router.js';
import { codes, startTestServer, type TestServer } from './support/server.js';
import { as, jwtEnv } from './support/tokens.js';

/** The README's recipe: a gateway that forwards the caller's Authorization header to the subgraph. */
describe('behind @apollo/gateway forwarding the Authorization header (SQLite)', () => {
  let s: TestServer;
  let router: ForwardingRouter;
  beforeAll(async () => {
    s = await startTestServer('sqlite', { env: jwtEnv(), seedDemo: true });
    // What a router reads first: `_service` stays open without a token.
    const { _service } = await s.ok<{ _service: { sdl: string } }>('{ _service { sdl } }');
    expect(_service.sdl).toContain('@requiresScopes');
    const composed = composeServices([{ name: 'integrity', url: s.url, typeDefs: parse(_service.sdl) }]);
    if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
    // The gateway rejects `for: SECURITY` links it does not implement; the subgraph enforces them.
    router = await startForwardingRouter({ supergraphSdl: supergraphForApolloGateway(composed.supergraphSdl) });
  });
  afterAll(async () => {
    await router?.stop();
    await s?.close();
  });
  const viaRouter = (query: string, headers?: Record<string, string>) => router.query(query, headers);

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
