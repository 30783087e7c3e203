import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { concatAST, parse, type DocumentNode } from 'graphql';
import { resolveEntities } from '../../resolvers/entities.js';
import { resolversFor } from '../../resolvers/index.js';
import { deriveKindDocument } from '../model/derive-sdl.js';
import { loadRelationshipSchema, pathToPointer } from '../model/load.js';
import type { RelationshipSchema } from '../model/model.js';
import { findNameProblems } from '../model/name-problems.js';
import { SCHEMA_DIR } from '../paths.js';

/** The hand-written shared SDL, as in schema/*.graphql (federation directives included): no kind in it. */
export function sharedTypeDefs(): DocumentNode {
  const files = readdirSync(SCHEMA_DIR)
    .filter((f) => f.endsWith('.graphql'))
    .sort();
  return parse(files.map((f) => readFileSync(join(SCHEMA_DIR, f), 'utf8')).join('\n'));
}

/** Raised when the relationship schema derives names that cannot coexist; start-up stops with its message. */
export class SchemaNameError extends Error {
  constructor(
    readonly model: RelationshipSchema,
    readonly problems: ReadonlyArray<{ paths: string[]; message: string }>,
  ) {
    const where = (path: string) => `${model.fileOf(path)} at ${path} (JSON pointer ${pathToPointer(path)})`;
    super(
      `${model.file}: the derived GraphQL API has names that cannot coexist:\n${problems.map((p) => `  ${p.paths.map(where).join(' and ')}: ${p.message}`).join('\n')}`,
    );
    this.name = 'SchemaNameError';
  }
}

/** The whole subgraph SDL: the shared part and the per-kind part derived from the relationship schema. */
export function typeDefs(model: RelationshipSchema = loadRelationshipSchema()): DocumentNode {
  const shared = sharedTypeDefs();
  const problems = findNameProblems(model, shared);
  if (problems.length) throw new SchemaNameError(model, problems);
  return concatAST([shared, deriveKindDocument(model, { shared })]);
}

export function buildSchema(model: RelationshipSchema = loadRelationshipSchema()) {
  const resolvers = resolversFor(model);
  // Our `_entities` replaces Apollo's (added before the modules' resolvers, so these win): see resolvers/entities.ts.
  const all = { ...resolvers, Query: { ...resolvers.Query, _entities: resolveEntities } };
  return buildSubgraphSchema([{ typeDefs: typeDefs(model), resolvers: all as unknown as GraphQLResolverMap<unknown> }]);
}
