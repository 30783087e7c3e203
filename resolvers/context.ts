import type { Engine } from '../src/engine/engine.js';
import type { Loaders } from '../src/engine/loaders.js';

/** Per-request context: the engine, and loaders whose caches live as long as the request. */
export interface GraphQLContext {
  engine: Engine;
  loaders: Loaders;
}
