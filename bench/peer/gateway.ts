import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { composeSupergraph } from '../../examples/supergraph/compose.js';
import { supergraphForApolloGateway } from '../../src/server/auth/gateway-compat.js';

/** A running subgraph's SDL, as a router's introspection asks for it. */
async function sdlOf(url: string): Promise<string> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ _service { sdl } }' }),
  });
  const body = (await res.json()) as { data?: { _service: { sdl: string } } };
  if (!body.data) throw new Error(`${url} did not answer _service: ${JSON.stringify(body)}`);
  return body.data._service.sdl;
}

/**
 * `@apollo/gateway` 2.14 over the given subgraphs, composed once at start-up from their `_service`
 * SDL (with the auth links @apollo/gateway cannot load demoted, see gateway-compat.ts), vendor telemetry off.
 * The same gateway (code and settings) fronts this subgraph (case A) and the peer (case B).
 */
export async function startGateway(
  subgraphs: { name: string; url: string }[],
  port = 0,
): Promise<{ url: string; fetches: () => number; stop: () => Promise<void> }> {
  process.env.APOLLO_TELEMETRY_DISABLED = 'true';
  let fetches = 0;
  const gateway = new ApolloGateway({
    supergraphSdl: supergraphForApolloGateway(
      composeSupergraph(await Promise.all(subgraphs.map(async (s) => ({ ...s, sdl: await sdlOf(s.url) })))).supergraphSdl,
    ),
    buildService: ({ url }) =>
      new (class extends RemoteGraphQLDataSource {
        override willSendRequest(): void {
          fetches++;
        }
      })({ url }),
  });
  const server = new ApolloServer({ gateway, plugins: [ApolloServerPluginCacheControlDisabled()] });
  const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port } });
  return {
    url,
    fetches: () => fetches,
    stop: () => server.stop(),
  };
}
