import type { Actor } from '../src/engine/actor.js';
import type { Engine } from '../src/engine/engine.js';
import type { Loaders } from '../src/engine/loaders.js';
import type { AuthState } from '../src/server/auth/principal.js';

/** Per-request context: the engine, the caller, and loaders whose caches live as long as the request. */
export interface GraphQLContext {
  engine: Engine;
  /** What the engine needs of the caller: the author to record, the projects it is confined to. */
  actor: Actor;
  /** The verified token (or why there is none), for the access-control plugin. */
  auth: AuthState;
  loaders: Loaders;
}
