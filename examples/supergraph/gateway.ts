import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloGateway, RemoteGraphQLDataSource, type ServiceEndpointDefinition } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { supergraphForApolloGateway } from '../../src/server/auth/gateway-compat.js';
import { corsFor } from '../../src/server/cors.js';
import { graphqlUrl } from './serve-subgraph.js';

interface GatewayContext {
  authorization?: string;
}

export interface Gateway {
  url: string;
  stop(): Promise<void>;
}

/** Called with every request the gateway sends to a subgraph: its name, query and variables. */
export type SubgraphRequestListener = (subgraph: string, request: { query?: string; variables?: Record<string, unknown> }) => void;

/**
 * Apollo Gateway (@apollo/gateway) serving a composed supergraph over HTTP. Its anonymous usage
 * report to Apollo (and the cloud-metadata probes that come with it) is off unless the caller's
 * environment says otherwise: nothing here leaves the machine unless a user configures it.
 */
export async function startGateway(options: {
  supergraphSdl: string;
  port?: number;
  host?: string;
  /** Browser origins allowed to call it (as CORS_ORIGINS for the subgraph); none when absent. */
  corsOrigins?: readonly string[];
  onSubgraphRequest?: SubgraphRequestListener;
}): Promise<Gateway> {
  if (!process.env.APOLLO_TELEMETRY_DISABLED) process.env.APOLLO_TELEMETRY_DISABLED = 'true';
  const gateway = new ApolloGateway({
    // Composition links @requiresScopes `for: SECURITY`, which @apollo/gateway refuses to load (see gateway-compat.ts).
    supergraphSdl: supergraphForApolloGateway(options.supergraphSdl),
    buildService: ({ name, url }: ServiceEndpointDefinition) =>
      new RemoteGraphQLDataSource<GatewayContext>({
        url,
        willSendRequest: ({ request, context }) => {
          // The caller's bearer token reaches every subgraph (AUTH_MODE=jwt checks it there).
          if (context.authorization) request.http?.headers.set('authorization', context.authorization);
          options.onSubgraphRequest?.(name, request);
        },
      }),
  });
  const app = express();
  const server = createServer(app);
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    csrfPrevention: true,
    // demo.ts stops every server itself on SIGINT/SIGTERM; Apollo's own handler would race it and a second stop() never ends.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: server }),
      ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false }),
    ],
  });
  await apollo.start();
  app.use(
    '/graphql',
    corsFor(options.corsOrigins ?? []),
    express.json({ limit: '5mb' }),
    expressMiddleware(apollo, { context: async ({ req }) => ({ authorization: req.headers.authorization }) }),
  );
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => res());
  });
  const { port } = server.address() as AddressInfo;
  return { url: graphqlUrl(options.host ?? '127.0.0.1', port), stop: () => apollo.stop() };
}
