import { DomainError } from './errors.js';

/**
 * Who asks, as far as the engine cares: whom to record as the author of a change, and which
 * tenancy roots (projects) the caller is confined to. Scopes are checked before the engine is
 * called (src/server/auth); tenancy is the engine's, because only the data says whose a row is.
 */
export interface Actor {
  /** Recorded as the author of changes; null without authentication (AUTH_MODE=none). */
  subject: string | null;
  /** The projects the caller may see and change; null means every project. */
  projects: readonly string[] | null;
}

/** Everyone, everything: AUTH_MODE=none, background work, tests of the engine alone. */
export const UNRESTRICTED: Actor = { subject: null, projects: null };

export const forbidden = (message: string, details?: Record<string, unknown>) => new DomainError('FORBIDDEN', message, details);

/** Operations over every project at once are for callers confined to none. */
export function requireUnconfined(actor: Actor, what: string): void {
  if (actor.projects !== null) throw forbidden(`${what} acts on every project; your token is limited to some projects`);
}
