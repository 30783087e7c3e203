import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { printSubgraphSchema } from '@apollo/subgraph';
import { buildSchema } from '../server/schema.js';

// The federated SDL, for publishing to a schema registry: to stdout, or to the file named by the
// last argument (`npm run schema:write [-- FILE]`, default subgraph.graphql): no npm banner can end up in it.
const sdl = printSubgraphSchema(buildSchema()) + '\n';
const file = process.argv.length > 2 ? process.argv[process.argv.length - 1] : undefined;
if (file) {
  writeFileSync(resolve(file), sdl);
  process.stderr.write(`wrote ${resolve(file)}\n`);
} else {
  process.stdout.write(sdl);
}
