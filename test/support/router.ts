import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import type { GraphQLResponse } from './server.js';

process.env.APOLLO_TELEMETRY_DISABLED = 'true';

interface RouterContext {
  authorization?: string;
}

export interface ForwardingRouter {
  url: string;
  /** POSTs one operation to the router as a client would, with these headers. */
  query(query: string, headers?: Record<string, string>): Promise<GraphQLResponse>;
  stop(): Promise<void>;
}

/**
 * Apollo Gateway standing in for a router, on loopback: it forwards the caller's Authorization
 * header to the subgraphs `forwardsTo` accepts (every one by default), as the docs' router recipes do.
 * `urls` points routing URLs of the supergraph (compose host names, say) at where the subgraphs run.
 */
export async function startForwardingRouter(options: {
  supergraphSdl: string;
  urls?: Record<string, string>;
  forwardsTo?: (subgraph: string) => boolean;
}): Promise<ForwardingRouter> {
  const { supergraphSdl, urls = {}, forwardsTo = () => true } = options;
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name, url: routingUrl }) =>
      new RemoteGraphQLDataSource<RouterContext>({
        url: urls[routingUrl ?? ''] ?? routingUrl,
        willSendRequest({ request, context }) {
          if (forwardsTo(name) && context.authorization) request.http?.headers.set('authorization', context.authorization);
        },
      }),
  });
  const server = new ApolloServer<RouterContext>({ gateway });
  const { url } = await startStandaloneServer(server, {
    listen: { port: 0, host: '127.0.0.1' },
    context: async ({ req }) => ({ authorization: req.headers.authorization }),
  });
  return {
    url,
    async query(query, headers = {}) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query }),
      });
      return (await res.json()) as GraphQLResponse;
    },
    stop: () => server.stop(),
  };
}
