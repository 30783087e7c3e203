import { chunks, placeholders } from '../../data/chunk.js';
import { isUniqueViolation, type Db, type Tx } from '../../data/db.js';
import { newId } from '../../data/ids.js';
import type { Actor } from '../actor.js';
import { DomainError, notFound } from '../errors.js';
import type { KindDef, RelationshipSchema } from '../../model/model.js';
import type { ContentRules } from './content.js';
import type { Content, PlannedReference, ReferenceRecord, ResourceRecord } from './model.js';
import type { Tenancy } from './tenancy.js';
import {
  insertReferences,
  insertResource,
  insertVersion,
  recordWith,
  referencesFrom,
  resourcesByIds,
  resourcesByNaturalKeys,
} from './store.js';

/** What the writer needs from remote references; implemented in src/remote. */
export interface RemoteLinker {
  /** Before the transaction (it may call a remote store): checks the keys these fields name exist. */
  prepare(kind: KindDef, content: Content, fields: readonly string[]): Promise<unknown>;
  /** Inside the transaction: unlinks `fields`, then links the prepared fields to their remote_ref rows. */
  link(tx: Tx, resourceId: string, prepared: unknown, fields: readonly string[]): Promise<void>;
  /** True for the error `link` throws when what `prepare` saw has changed since: the write starts over. */
  isStale(error: unknown): boolean;
  /** After the transaction committed: what the save cached is checked again where it may be behind its store. */
  afterCommit(prepared: unknown): Promise<void>;
}

const stableJson = (v: unknown) => JSON.stringify(v);

/** Input as plain JSON data: GraphQL hands over null-prototype objects; omitted fields stay omitted, nulls stay null. */
const plain = (input: Content): Content => JSON.parse(JSON.stringify(input)) as Content;

/** Creates and updates documents: document, reference index, remote links and history in one transaction. */
export class ResourceWriter {
  constructor(
    private readonly db: Db,
    private readonly schema: RelationshipSchema,
    private readonly rules: ContentRules,
    private readonly remote: RemoteLinker,
    private readonly tenancy: Tenancy,
  ) {}

  create(kindName: string, input: Content, actor: Actor): Promise<ResourceRecord> {
    return this.startingOverWhenStale(() => this.createOnce(kindName, plain(input), actor));
  }

  update(kindName: string, id: string, patch: Content, expectedVersion: number | null | undefined, actor: Actor): Promise<ResourceRecord> {
    return this.startingOverWhenStale(() => this.updateOnce(kindName, id, plain(patch), expectedVersion, actor));
  }

  private async startingOverWhenStale<T>(write: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (e) {
        if (attempt >= 3 || !this.remote.isStale(e)) throw e;
      }
    }
  }

  private async createOnce(kindName: string, input: Content, actor: Actor): Promise<ResourceRecord> {
    const kind = this.schema.kind(kindName);
    const content = this.rules.validate(kind, input);
    // Whose it will be and what it refers to follow from its identity and body: refuse before any store is touched.
    this.tenancy.assertCreatable(actor, { kind: kind.name, naturalKey: this.rules.naturalKey(kind, content) });
    const parentOf = this.rules.parentReference(kind, content);
    this.tenancy.assertReferable(actor, [...(parentOf ? [parentOf] : []), ...this.rules.bodyReferences(kind, content)]);
    const remoteFields = kind.remoteReferences.map((r) => r.field).filter((f) => content[f] !== undefined);
    const prepared = await this.remote.prepare(kind, content, remoteFields);
    const naturalKey = this.rules.naturalKey(kind, content);

    const created = await this.db.transaction(async (tx) => {
      const parentRef = this.rules.parentReference(kind, content);
      const planned = [...(parentRef ? [parentRef] : []), ...this.rules.bodyReferences(kind, content)];
      const targets = await this.lockTargets(tx, planned);
      this.refuseMarked(planned, targets, new Set());

      const [existing] = await resourcesByNaturalKeys(tx, kind.name, [naturalKey]);
      if (existing) throw alreadyExists(kind, content);

      const now = await tx.now();
      const record: ResourceRecord = {
        id: newId(),
        kind: kind.name,
        naturalKey,
        name: String(content.name),
        parentId: parentRef ? targets.get(parentRef.naturalKey + parentRef.kind)!.id : null,
        content,
        version: 1,
        status: 'ACTIVE',
        createdAt: now,
        updatedAt: now,
        markedAt: null,
        deleteAfter: null,
        markId: null,
        markedBy: null,
      };
      try {
        await insertResource(tx, record);
      } catch (e) {
        if (isUniqueViolation(e)) throw alreadyExists(kind, content);
        throw e;
      }
      await insertVersion(tx, record.id, 1, content, now, actor.subject);
      await insertReferences(tx, this.referenceRows(record.id, planned, targets, now, new Map()));
      // A new document has no links to undo (and a DELETE on a new id would only take gap locks).
      await this.remote.link(tx, record.id, prepared, []);
      return record;
    });
    await this.remote.afterCommit(prepared);
    return created;
  }

  private async updateOnce(
    kindName: string,
    id: string,
    patch: Content,
    expectedVersion: number | null | undefined,
    actor: Actor,
  ): Promise<ResourceRecord> {
    const kind = this.schema.kind(kindName);
    // Refuse bad input and unknown ids before calling any remote store; the transaction checks again.
    const [before] = await resourcesByIds(this.db, [id]);
    const missing = () => notFound(`${kind.name} ${id} does not exist`, { id });
    if (!before || before.kind !== kind.name) throw missing();
    // A resource's project never changes (it is part of its identity): checking it once is enough.
    this.tenancy.assertWritable(actor, before, missing);
    this.rules.merge(kind, before.content, patch);
    const remoteFields = kind.remoteReferences.map((r) => r.field).filter((f) => patch[f] !== undefined);
    const prepared = await this.remote.prepare(
      kind,
      patch,
      remoteFields.filter((f) => patch[f] !== null),
    );

    const updated = await this.db.transaction(async (tx) => {
      const [current] = await resourcesByIds(tx, [id], tx.forUpdate);
      if (!current || current.kind !== kind.name) throw notFound(`${kind.name} ${id} does not exist`, { id });
      if (current.status === 'MARKED_FOR_DELETION') {
        throw new DomainError('RESOURCE_MARKED_FOR_DELETION', `${kind.name} ${labelOf(current)} is marked for deletion and cannot change`, {
          id,
        });
      }
      if (expectedVersion !== undefined && expectedVersion !== null && expectedVersion !== current.version) {
        throw new DomainError(
          'VERSION_CONFLICT',
          `${kind.name} ${labelOf(current)} is at version ${current.version}, not ${expectedVersion}; reload it and try again`,
          { id, expectedVersion, currentVersion: current.version },
        );
      }
      const content = this.rules.merge(kind, current.content, patch);
      const planned = this.rules.bodyReferences(kind, content);
      this.tenancy.assertReferable(actor, planned);
      const targets = await this.lockTargets(tx, planned);
      const heldRefs = (await referencesFrom(tx, [id])).filter((r) => r.type === 'ARBITRARY');
      const held = new Map<string, string>();
      for (const r of heldRefs) if (!held.has(r.toId) || held.get(r.toId)! > r.createdAt) held.set(r.toId, r.createdAt);
      // A referrer of a marked resource is frozen for admins: whatever the write changes, the
      // result may keep no reference to a marked resource (dereferencing them all is allowed),
      // and it may not add one. Checked before the no-change shortcut: a no-op is refused too.
      this.refuseMarked(planned, targets, new Set(held.keys()), current);
      if (stableJson(content) === stableJson(current.content)) return current;

      const now = await tx.now();
      const next = recordWith(current, { content, version: current.version + 1, updatedAt: now });
      await tx.execute(`UPDATE resource SET content = ?, version = ?, updated_at = ? WHERE id = ?`, [
        JSON.stringify(content),
        next.version,
        now,
        id,
      ]);
      await insertVersion(tx, id, next.version, content, now, actor.subject);
      const rows = this.referenceRows(id, planned, targets, now, held);
      const same = (a: ReferenceRecord, b: ReferenceRecord) => a.path === b.path && a.toId === b.toId;
      const gone = heldRefs.filter((h) => !rows.some((r) => same(r, h)));
      const added = rows.filter((r) => !heldRefs.some((h) => same(r, h)));
      for (const c of chunks(gone)) {
        await tx.execute(`DELETE FROM resource_ref WHERE from_id = ? AND path IN (${placeholders(c.length)})`, [
          id,
          ...c.map((g) => g.path),
        ]);
      }
      await insertReferences(tx, added);
      if (remoteFields.length) await this.remote.link(tx, id, prepared, remoteFields);
      return next;
    });
    await this.remote.afterCommit(prepared);
    return updated;
  }

  /** Finds every target with a share lock (so nobody marks it before we commit); all missing ones fail together. */
  private async lockTargets(tx: Tx, planned: readonly PlannedReference[]): Promise<Map<string, ResourceRecord>> {
    const byKind = new Map<string, string[]>();
    for (const p of planned) byKind.set(p.kind, [...(byKind.get(p.kind) ?? []), p.naturalKey]);
    const found = new Map<string, ResourceRecord>();
    for (const [kind, keys] of byKind) {
      for (const r of await resourcesByNaturalKeys(tx, kind, keys, tx.forShare)) found.set(r.naturalKey + r.kind, r);
    }
    const missing = planned.filter((p) => !found.has(p.naturalKey + p.kind));
    if (missing.length) {
      const names = [...new Set(missing.map((m) => m.label))];
      throw notFound(`${names.join(', ')} ${names.length === 1 ? 'does' : 'do'} not exist`, {
        missing: missing.map((m) => ({ path: m.path, kind: m.kind, naturalKey: JSON.parse(m.naturalKey) })),
      });
    }
    return found;
  }

  /**
   * The written document may refer to no marked resource: not newly, and (for an update of a
   * referrer) not still. `held` are the targets the document referred to before this write.
   */
  private refuseMarked(
    planned: readonly PlannedReference[],
    targets: Map<string, ResourceRecord>,
    held: Set<string>,
    referrer?: ResourceRecord,
  ): void {
    const marked = planned
      .map((p) => ({ p, t: targets.get(p.naturalKey + p.kind)! }))
      .filter(({ t }) => t.status === 'MARKED_FOR_DELETION');
    if (!marked.length) return;
    const kept = marked.filter(({ t }) => held.has(t.id));
    const names = (list: typeof marked) => [...new Set(list.map(({ p }) => p.label))].join(', ');
    const message =
      referrer && kept.length
        ? `${referrer.kind} ${labelOf(referrer)} refers to resources marked for deletion (${names(kept)}): ` +
          `it cannot change until a write removes every such reference (or it is marked for deletion itself)` +
          (kept.length < marked.length ? `; it also cannot newly refer to ${names(marked.filter((m) => !kept.includes(m)))}` : '')
        : `Cannot refer to resources marked for deletion: ${names(marked)}`;
    throw new DomainError('REFERENCES_MARKED_RESOURCE', message, {
      targets: marked.map(({ p, t }) => ({ id: t.id, kind: t.kind, path: p.path })),
    });
  }

  /** A target the document already referred to keeps its first reference time, whatever its path now. */
  private referenceRows(
    fromId: string,
    planned: readonly PlannedReference[],
    targets: Map<string, ResourceRecord>,
    now: string,
    heldSince: Map<string, string>,
  ): ReferenceRecord[] {
    return planned.map((p) => {
      const toId = targets.get(p.naturalKey + p.kind)!.id;
      return { fromId, path: p.path, type: p.type, toId, createdAt: heldSince.get(toId) ?? now };
    });
  }
}

export function labelOf(r: Pick<ResourceRecord, 'naturalKey'>): string {
  return (JSON.parse(r.naturalKey) as string[]).join('/');
}

function alreadyExists(kind: KindDef, content: Content): DomainError {
  const key = kind.identity.map((f) => content[f]).join('/');
  return new DomainError('ALREADY_EXISTS', `${kind.name} ${key} already exists`, {
    identity: Object.fromEntries(kind.identity.map((f) => [f, content[f]])),
  });
}
