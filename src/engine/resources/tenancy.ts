import type { Actor } from '../actor.js';
import { forbidden } from '../actor.js';
import { notFound, type DomainError } from '../errors.js';
import type { RelationshipSchema } from '../../model/model.js';
import { keysUnder } from './key-range.js';
import type { PlannedReference, ResourceRecord } from './model.js';

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

  /** True when the caller may see a resource of this kind and identity: shared kinds always, others when their project is granted. */
  canSee(actor: Actor, target: Pick<ResourceRecord, 'kind' | 'naturalKey'>): boolean {
    if (actor.projects === null || this.schema.kind(target.kind).tenantRoot === null) return true;
    return actor.projects.includes((JSON.parse(target.naturalKey) as string[])[0]);
  }

  /**
   * Writes to an existing resource. One the caller cannot see is refused with `missing`, the very
   * error an id that does not exist gets: neither the code nor the message tells that it exists.
   * Shared kinds (readable by everyone) take writes from unconfined callers only (the SDL asks
   * for the admin scope there).
   */
  assertWritable(actor: Actor, target: Pick<ResourceRecord, 'kind' | 'naturalKey'>, missing: () => DomainError): void {
    if (actor.projects === null) return;
    if (!this.canSee(actor, target)) throw missing();
    if (this.schema.kind(target.kind).tenantRoot === null) throw sharedRefused(target.kind);
  }

  /**
   * Creating: decided on the new identity and the token's claim alone, before anything is read,
   * so the answer is the same whether or not something of that name exists; it names nothing.
   */
  assertCreatable(actor: Actor, target: Pick<ResourceRecord, 'kind' | 'naturalKey'>): void {
    if (actor.projects === null) return;
    if (this.schema.kind(target.kind).tenantRoot === null) throw sharedRefused(target.kind);
    if (!this.canSee(actor, target)) throw forbidden(`Your token does not grant the project this ${target.kind} would belong to`);
  }

  /**
   * References a written document makes: a target outside the caller's projects is refused as a
   * target that does not exist, on the claim alone and naming only the field that refers to it.
   */
  assertReferable(actor: Actor, planned: readonly PlannedReference[]): void {
    if (actor.projects === null) return;
    const hidden = planned.filter((p) => !this.canSee(actor, p));
    if (hidden.length) {
      throw notFound(
        `${hidden.map((h) => h.path).join(', ')} ${hidden.length === 1 ? 'refers' : 'refer'} to a resource that does not exist`,
        {
          missing: hidden.map((h) => ({ path: h.path, kind: h.kind })),
        },
      );
    }
  }
}

const sharedRefused = (kind: string) => forbidden(`${kind} is shared by every project; only a token not limited to projects may change it`);
