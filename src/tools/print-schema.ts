import { printSubgraphSchema } from '@apollo/subgraph';
import { buildSchema } from '../server/schema.js';

// The federated SDL, for publishing to a schema registry.
process.stdout.write(printSubgraphSchema(buildSchema()) + '\n');
