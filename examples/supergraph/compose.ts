import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { composeServices } from '@apollo/composition';
import { printSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { buildSchema } from '../../src/server/schema.js';
import { EMPLOYEES_SDL } from '../employees-subgraph/server.js';

export interface SubgraphDef {
  name: string;
  url: string;
  sdl: string;
}

/** The integrity subgraph's federated SDL, as `npm run -s schema:print` prints it. */
export const integritySdl = () => printSubgraphSchema(buildSchema());

/** The demo's two subgraphs: this one and the example that owns employees and bank accounts. */
export function demoSubgraphs(urls: { integrity: string; employees: string }): SubgraphDef[] {
  return [
    { name: 'integrity', url: urls.integrity, sdl: integritySdl() },
    { name: 'employees', url: urls.employees, sdl: EMPLOYEES_SDL },
  ];
}

/** Composes subgraphs in-process (@apollo/composition); throws with every composition error. */
export function composeSupergraph(subgraphs: readonly SubgraphDef[]): { supergraphSdl: string; hints: string[] } {
  const result = composeServices(subgraphs.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) })));
  if (result.errors) throw new Error(`composition failed:\n${result.errors.map((e) => `- ${e.message}`).join('\n')}`);
  return { supergraphSdl: result.supergraphSdl, hints: result.hints.map((h) => `${h.definition.code}: ${h.message}`) };
}

// `npm run supergraph:compose [-- FILE]`: the demo supergraph for a router run elsewhere.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const out = resolve(process.argv[2] ?? 'supergraph.graphql');
  const { supergraphSdl } = composeSupergraph(
    demoSubgraphs({
      integrity: process.env.INTEGRITY_URL || 'http://127.0.0.1:4001/graphql',
      employees: process.env.EMPLOYEES_URL || 'http://127.0.0.1:4002/graphql',
    }),
  );
  writeFileSync(out, supergraphSdl.endsWith('\n') ? supergraphSdl : `${supergraphSdl}\n`);
  process.stderr.write(`wrote ${out}\n`);
}
