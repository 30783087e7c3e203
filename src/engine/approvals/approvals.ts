import { chunks } from '../../data/chunk.js';
import type { Db, Tx } from '../../data/db.js';
import type { ApprovalPinRow, ApprovalRow } from '../../data/entities.js';
import { newId } from '../../data/ids.js';
import type { RemoteContext } from '../../remote/context.js';
import { needsFetch, refill } from '../../remote/reader.js';
import { linkedRemoteRows, toRemoteRecord, type RemoteRefRecord } from '../../remote/remote-ref-store.js';
import { badInput, DomainError, notFound } from '../errors.js';
import type { Actor } from '../actor.js';
import { approvalColumns, toApproval } from '../lifecycle/queries.js';
import type { Content, ResourceRecord } from '../resources/model.js';
import { resourcesByIds } from '../resources/store.js';
import type { Tenancy } from '../resources/tenancy.js';
import { labelOf } from '../resources/writer.js';
import { closureOf } from './closure.js';
import type { ApprovalRecord, PinRecord, RemoteSnapshotRecord } from './model.js';

export const toPin = (p: ApprovalPinRow): PinRecord => ({
  approvalId: p.approval_id,
  resourceId: p.resource_id,
  kind: p.kind,
  version: Number(p.version),
  content: JSON.parse(p.content) as Content,
});

/** Approving pins versions; revoking ends an approval. One approval in force per resource. */
export class Approvals {
  constructor(
    private readonly db: Db,
    private readonly remote: RemoteContext,
    private readonly tenancy: Tenancy,
  ) {}

  async approve(kind: string, id: string, actor: Actor): Promise<ApprovalRecord> {
    try {
      return await this.db.transaction((tx) => this.approveIn(tx, kind, id, actor, true));
    } catch (e) {
      if (!(e instanceof EvictedRemoteEntities)) throw e;
      // Refetch outside the transaction (no network call while holding locks), then approve for real;
      // an entity that still has no copy refuses the approval (REMOTE_SOURCE_UNAVAILABLE).
      await refill(this.remote, e.evicted);
      return this.db.transaction((tx) => this.approveIn(tx, kind, id, actor, false));
    }
  }

  private async approveIn(tx: Tx, kind: string, id: string, actor: Actor, firstAttempt: boolean): Promise<ApprovalRecord> {
    const [root] = await resourcesByIds(tx, [id], tx.forUpdate);
    const missing = () => notFound(`${kind} ${id} does not exist`, { id });
    if (!root || root.kind !== kind) throw missing();
    this.tenancy.assertWritable(actor, root, missing);
    const closure = await closureOf(tx, root, tx.forShare);
    const marked = closure.filter((r) => r.status === 'MARKED_FOR_DELETION');
    if (marked.length) {
      throw new DomainError(
        'REFERENCES_MARKED_RESOURCE',
        `Cannot approve ${kind} ${labelOf(root)}: it covers resources marked for deletion: ${marked.map((m) => `${m.kind} ${labelOf(m)}`).join(', ')}`,
        { targets: marked.map((m) => ({ id: m.id, kind: m.kind })) },
      );
    }
    const remote = await linkedRemoteRows(
      tx,
      closure.map((r) => r.id),
      tx.forShare,
    );
    const records = remote.map(toRemoteRecord);
    // Evicted copies, and deleted ones due for another look: asked for before pinning.
    const due = needsFetch(this.remote, records);
    if (firstAttempt && due.length) throw new EvictedRemoteEntities(due);
    const unavailable = records.filter((r) => !r.entity && !r.deleted);
    if (unavailable.length) {
      const r = unavailable[0];
      throw new DomainError(
        'REMOTE_SOURCE_UNAVAILABLE',
        `Cannot approve ${kind} ${labelOf(root)}: ${r.entityType} ${JSON.stringify(r.key)} has no cached copy and its store cannot be read`,
        { entityType: r.entityType, keys: unavailable.map((u) => u.key) },
      );
    }

    const now = await tx.now();
    // The approval this one replaces ends by the same hand.
    await tx.execute(`UPDATE approval SET revoked_at = ?, revoked_by = ? WHERE resource_id = ? AND revoked_at IS NULL`, [
      now,
      actor.subject,
      id,
    ]);
    const approval: ApprovalRecord = {
      id: newId(),
      resourceId: id,
      approvedAt: now,
      revokedAt: null,
      approvedBy: actor.subject,
      revokedBy: null,
    };
    await tx.execute(`INSERT INTO approval (${approvalColumns()}) VALUES (?, ?, ?, NULL, ?, NULL)`, [approval.id, id, now, actor.subject]);
    for (const c of chunks(closure, 200)) {
      await tx.execute(
        `INSERT INTO approval_pin (approval_id, resource_id, kind, version, content) VALUES ${c.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
        c.flatMap((r: ResourceRecord) => [approval.id, r.id, r.kind, r.version, JSON.stringify(r.content)]),
      );
    }
    for (const c of chunks(remote, 200)) {
      await tx.execute(
        `INSERT INTO approval_remote_snapshot (approval_id, resource_id, path, entity_type, remote_key_payload, entity, status, fetched_at) VALUES ${c.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        c.flatMap((r) => [
          approval.id,
          r.resource_id,
          r.path,
          r.entity_type,
          r.remote_key_payload,
          r.cached_entity,
          Number(r.deleted) === 1 ? 'DELETED' : 'FRESH',
          r.fetched_at,
        ]),
      );
    }
    return approval;
  }

  async revoke(approvalId: string, actor: Actor): Promise<ApprovalRecord> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<ApprovalRow>(`SELECT ${approvalColumns()} FROM approval WHERE id = ?${tx.forUpdate}`, [approvalId]);
      const missing = () => notFound(`Approval ${approvalId} does not exist`, { id: approvalId });
      if (!row) throw missing();
      const [group] = await resourcesByIds(tx, [row.resource_id], tx.forShare);
      // An approval is as visible as its group; one whose group is gone is nobody's confined business.
      if (group) this.tenancy.assertWritable(actor, group, missing);
      else if (actor.projects !== null) throw missing();
      if (row.revoked_at) throw badInput(`Approval ${approvalId} was already revoked`, { id: approvalId });
      const now = await tx.now();
      await tx.execute(`UPDATE approval SET revoked_at = ?, revoked_by = ? WHERE id = ?`, [now, actor.subject, approvalId]);
      return { ...toApproval(row), revokedAt: now, revokedBy: actor.subject };
    });
  }
}

/** The closure refers to remote entities whose cached copy was evicted: refill, then approve again. */
class EvictedRemoteEntities extends Error {
  constructor(readonly evicted: RemoteRefRecord[]) {
    super('evicted remote entities in the closure');
  }
}

export const toSnapshot = (r: {
  approval_id: string;
  resource_id: string;
  path: string;
  entity_type: string;
  remote_key_payload: string;
  entity: string | null;
  status: string | null;
  fetched_at: string | null;
}): RemoteSnapshotRecord => ({
  approvalId: r.approval_id,
  resourceId: r.resource_id,
  path: r.path,
  entityType: r.entity_type,
  key: JSON.parse(r.remote_key_payload) as Record<string, string>,
  entity: r.entity === null ? null : (JSON.parse(r.entity) as Record<string, unknown>),
  status: r.status === 'FRESH' || r.status === 'DELETED' ? r.status : null,
  fetchedAt: r.fetched_at,
});
