import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { printSubgraphSchema } from '@apollo/subgraph';
import { loadRelationshipSchema } from '../model/load.js';
import { buildSchema } from '../server/schema.js';

// The federated SDL (shared and derived from RELATIONSHIP_SCHEMA, default the demo), for publishing
// to a schema registry: to stdout, or to the file named by the last argument (`npm run
// schema:write [-- FILE]`, default schema/generated/subgraph.graphql, the copy codegen reads and
// test/derive-schema.test.ts compares with the derivation): no npm banner can end up in it.
const sdl = `${printSubgraphSchema(buildSchema(loadRelationshipSchema(process.env.RELATIONSHIP_SCHEMA || undefined)))}\n`;
const file = process.argv.length > 2 ? process.argv[process.argv.length - 1] : undefined;
if (file) {
  writeFileSync(resolve(file), sdl);
  process.stderr.write(`wrote ${resolve(file)}\n`);
} else {
  process.stdout.write(sdl);
}
