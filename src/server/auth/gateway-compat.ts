/**
 * `@apollo/gateway` refuses a supergraph that links a feature `for: SECURITY` it does not
 * implement, and composition links @requiresScopes / @authenticated that way. The gateway would
 * not enforce them anyway (only GraphOS Router does); this subgraph enforces them itself. So a
 * gateway may load the supergraph with those links demoted to plain (ignorable) ones.
 */
export function supergraphForApolloGateway(supergraphSdl: string): string {
  return supergraphSdl.replace(
    /(@link\(url: "https:\/\/specs\.apollo\.dev\/(?:requiresScopes|authenticated)\/v[\d.]+"), for: SECURITY\)/g,
    '$1)',
  );
}
