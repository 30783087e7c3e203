import type { Actor } from '../actor.js';
import { forbidden } from '../actor.js';
import type { RelationshipSchema } from '../schema/model.js';
import { keysUnder } from './key-range.js';
import type { ResourceRecord } from './model.js';
import { labelOf } from './writer.js';

export interface SqlCondition {
  sql: string;
  params: unknown[];
}

/**
 * Tenancy as SQL: a caller confined to some projects reads only rows of those projects' subtrees
 * and rows of shared kinds. It works on natural keys, whose first value is the name of the root
 * of the parent chain (the relationship schema enforces identity = parent's identity + name), so
 * no extra column or join is needed and the condition sits inside the statement that reads.
 */
export class Tenancy {
  private readonly sharedKinds: string[];

  constructor(private readonly schema: RelationshipSchema) {
    this.sharedKinds = [...schema.kinds.values()].filter((k) => k.tenantRoot === null).map((k) => k.name);
  }

  /** A condition on the `resource` row aliased `alias`; null when the actor is not confined. */
  readable(actor: Actor, alias = 'resource'): SqlCondition | null {
    if (actor.projects === null) return null;
    const terms: string[] = [];
    const params: unknown[] = [];
    if (this.sharedKinds.length) {
      terms.push(`${alias}.kind IN (${this.sharedKinds.map(() => '?').join(', ')})`);
      params.push(...this.sharedKinds);
    }
    for (const project of actor.projects) {
      // The root itself and everything under it; byte for byte, so "Retail" does not open "retail".
      const under = keysUnder(`${alias}.natural_key`, [project]);
      terms.push(`${alias}.natural_key = ?`, under.sql);
      params.push(JSON.stringify([project]), ...under.params);
    }
    return terms.length ? { sql: `(${terms.join(' OR ')})`, params } : { sql: '(1 = 0)', params: [] };
  }

  /** `AND <condition>` for appending to a WHERE clause, with its parameters. */
  andReadable(actor: Actor, alias = 'resource'): SqlCondition {
    const c = this.readable(actor, alias);
    return c ? { sql: ` AND ${c.sql}`, params: c.params } : { sql: '', params: [] };
  }

  /**
   * Writes: a confined caller changes only resources of its projects; shared kinds (outside every
   * project) take writes from unconfined callers only (the SDL asks for the admin scope there).
   */
  assertWritable(actor: Actor, target: Pick<ResourceRecord, 'kind' | 'naturalKey'>): void {
    if (actor.projects === null) return;
    const root = this.schema.kind(target.kind).tenantRoot;
    const project = (JSON.parse(target.naturalKey) as string[])[0];
    if (root === null) {
      throw forbidden(`${target.kind} ${labelOf(target)} is shared by every project; only a token not limited to projects may change it`);
    }
    if (!actor.projects.includes(project)) {
      throw forbidden(`${target.kind} ${labelOf(target)} belongs to a project your token does not grant`);
    }
  }
}
