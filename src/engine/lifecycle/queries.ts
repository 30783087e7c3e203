import { placeholders, readInChunks } from '../../data/chunk.js';
import type { Sql } from '../../data/db.js';
import type { ApprovalRow } from '../../data/entities.js';
import type { ApprovalRecord } from '../approvals/model.js';
import type { ReferenceRecord } from '../resources/model.js';
import { referencesTo } from '../resources/store.js';

export const toApproval = (a: ApprovalRow): ApprovalRecord => ({
  id: a.id,
  resourceId: a.resource_id,
  approvedAt: a.approved_at,
  revokedAt: a.revoked_at,
});

/** References into `ids` from resources outside `ids`. */
export async function referencesFromOutside(sql: Sql, ids: readonly string[]): Promise<ReferenceRecord[]> {
  const inside = new Set(ids);
  return (await referencesTo(sql, ids)).filter((r) => !inside.has(r.fromId));
}

/** Approvals in force that pin any of `ids`, by pinned resource. */
export async function approvalsPinning(sql: Sql, ids: readonly string[]): Promise<Map<string, ApprovalRecord[]>> {
  const rows = await readInChunks(ids, (c) =>
    sql.query<ApprovalRow & { pinned_id: string }>(
      `SELECT p.resource_id AS pinned_id, a.id, a.resource_id, a.approved_at, a.revoked_at
       FROM approval_pin p JOIN approval a ON a.id = p.approval_id
       WHERE a.revoked_at IS NULL AND p.resource_id IN (${placeholders(c.length)}) ORDER BY a.approved_at`,
      c,
    ),
  );
  const out = new Map<string, ApprovalRecord[]>();
  for (const r of rows) out.set(r.pinned_id, [...(out.get(r.pinned_id) ?? []), toApproval(r)]);
  return out;
}
