import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type BaseContext } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { parse } from 'graphql';

/** The URL of /graphql on a listening address (a wildcard host is reached on loopback). */
export function graphqlUrl(host: string, port: number): string {
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${port}/graphql`;
}

export interface ServedSubgraph {
  url: string;
  stop(): Promise<void>;
}

/** A federation subgraph (SDL + resolvers) on Apollo Server over HTTP at /graphql; port 0 picks a free one. */
export async function serveSubgraph<C extends BaseContext>(options: {
  sdl: string;
  resolvers: Record<string, unknown>;
  context: () => Promise<C>;
  port?: number;
  host?: string;
}): Promise<ServedSubgraph> {
  const app = express();
  const server = createServer(app);
  const apollo = new ApolloServer<C>({
    schema: buildSubgraphSchema([{ typeDefs: parse(options.sdl), resolvers: options.resolvers as GraphQLResolverMap<unknown> }]),
    csrfPrevention: true,
    // demo.ts stops every server itself on SIGINT/SIGTERM; Apollo's own handler would race it and a second stop() never ends.
    stopOnTerminationSignals: false,
    // No trace data for a usage-reporting router: nothing here reports usage.
    plugins: [ApolloServerPluginDrainHttpServer({ httpServer: server }), ApolloServerPluginInlineTraceDisabled()],
  });
  await apollo.start();
  app.use('/graphql', express.json({ limit: '5mb' }), expressMiddleware(apollo, { context: options.context }));
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(options.port ?? 0, host, () => res());
  });
  const { port } = server.address() as AddressInfo;
  return { url: graphqlUrl(host, port), stop: () => apollo.stop() };
}
