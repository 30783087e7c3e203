import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { composeServices } from '@apollo/composition';
import { printSubgraphSchema } from '@apollo/subgraph';
import { Kind, parse, print, visit, type ConstDirectiveNode } from 'graphql';
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

/** The compose file's services (deploy/compose.yaml), as the router in that file reaches them. */
export const DEPLOY_URLS = { integrity: 'http://integrity:4001/graphql', employees: 'http://employees:4002/graphql' };

const AUTHORIZATION_SPECS = /^https:\/\/specs\.apollo\.dev\/(requiresScopes|authenticated)\/v/;

/**
 * The supergraph without @requiresScopes / @authenticated, for a GraphOS Router that runs without a
 * GraphOS licence: such a router refuses to start on a supergraph linking those specs. Nothing is
 * opened by leaving them out: the subgraph checks the scopes of the token the router propagates.
 */
export function withoutAuthorizationDirectives(supergraphSdl: string): string {
  const names = new Set<string>();
  const document = parse(supergraphSdl);
  visit(document, {
    Directive(node) {
      if (node.name.value !== 'link') return;
      const url = node.arguments?.find((a) => a.name.value === 'url')?.value;
      const spec = url?.kind === Kind.STRING ? AUTHORIZATION_SPECS.exec(url.value) : null;
      if (spec) names.add(spec[1]);
    },
  });
  const isAuthorizationLink = (node: ConstDirectiveNode) => {
    const url = node.arguments?.find((a) => a.name.value === 'url')?.value;
    return node.name.value === 'link' && url?.kind === Kind.STRING && AUTHORIZATION_SPECS.test(url.value);
  };
  const stripped = visit(document, {
    Directive: (node) => (names.has(node.name.value) || isAuthorizationLink(node as ConstDirectiveNode) ? null : undefined),
    DirectiveDefinition: (node) => (names.has(node.name.value) ? null : undefined),
    // The specs' own scalars (requiresScopes__Scope).
    ScalarTypeDefinition: (node) => ([...names].some((n) => node.name.value.startsWith(`${n}__`)) ? null : undefined),
  });
  return `${print(stripped)}\n`;
}

/** deploy/supergraph.graphql: the two subgraphs at the compose file's URLs, for its licence-free router. */
export const deploySupergraphSdl = () => withoutAuthorizationDirectives(composeSupergraph(demoSubgraphs(DEPLOY_URLS)).supergraphSdl);

// `npm run supergraph:compose [-- FILE]`: the demo supergraph for a router run elsewhere.
// `npm run supergraph:compose:deploy` (`--deploy [FILE]`): deploy/supergraph.graphql for deploy/compose.yaml.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const deploy = args.includes('--deploy');
  const file = args.find((a) => !a.startsWith('--'));
  const out = resolve(file ?? (deploy ? 'deploy/supergraph.graphql' : 'supergraph.graphql'));
  const supergraphSdl = deploy
    ? deploySupergraphSdl()
    : composeSupergraph(
        demoSubgraphs({
          integrity: process.env.INTEGRITY_URL || 'http://127.0.0.1:4001/graphql',
          employees: process.env.EMPLOYEES_URL || 'http://127.0.0.1:4002/graphql',
        }),
      ).supergraphSdl;
  writeFileSync(out, supergraphSdl.endsWith('\n') ? supergraphSdl : `${supergraphSdl}\n`);
  process.stderr.write(`wrote ${out}\n`);
}
