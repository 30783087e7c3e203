import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { parse, type DocumentNode } from 'graphql';
import { resolveEntities } from '../../resolvers/entities.js';
import { resolvers } from '../../resolvers/index.js';
import { SCHEMA_DIR } from '../paths.js';

/** The subgraph SDL as written in schema/*.graphql (federation directives included). */
export function typeDefs(): DocumentNode {
  const files = readdirSync(SCHEMA_DIR)
    .filter((f) => f.endsWith('.graphql'))
    .sort();
  return parse(files.map((f) => readFileSync(join(SCHEMA_DIR, f), 'utf8')).join('\n'));
}

export function buildSchema() {
  // Our `_entities` replaces Apollo's (added before the modules' resolvers, so these win): see resolvers/entities.ts.
  const all = { ...resolvers, Query: { ...resolvers.Query, _entities: resolveEntities } };
  return buildSubgraphSchema([{ typeDefs: typeDefs(), resolvers: all as unknown as GraphQLResolverMap<unknown> }]);
}
