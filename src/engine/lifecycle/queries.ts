import { placeholders, readInChunks } from '../../data/chunk.js';
import type { Sql } from '../../data/db.js';
import type { ApprovalRow } from '../../data/entities.js';
import type { ApprovalRecord } from '../approvals/model.js';
import type { ReferenceRecord } from '../resources/model.js';
import { EVERYTHING, referencesTo } from '../resources/store.js';
import type { SqlCondition } from '../resources/tenancy.js';

export const toApproval = (a: ApprovalRow): ApprovalRecord => ({
  id: a.id,
  resourceId: a.resource_id,
  approvedAt: a.approved_at,
  revokedAt: a.revoked_at,
  approvedBy: a.approved_by ?? null,
  revokedBy: a.revoked_by ?? null,
});

/** The approval columns, qualified by `alias` when given. */
export const approvalColumns = (alias = '') =>
  ['id', 'resource_id', 'approved_at', 'revoked_at', 'approved_by', 'revoked_by'].map((c) => (alias ? `${alias}.${c}` : c)).join(', ');

/** References into `ids` from resources outside `ids`. */
export async function referencesFromOutside(sql: Sql, ids: readonly string[]): Promise<ReferenceRecord[]> {
  const inside = new Set(ids);
  return (await referencesTo(sql, ids)).filter((r) => !inside.has(r.fromId));
}

/** Approvals in force that pin any of `ids`, by pinned resource (only approvals of groups `only` lets the caller read). */
export async function approvalsPinning(
  sql: Sql,
  ids: readonly string[],
  only: SqlCondition = EVERYTHING,
): Promise<Map<string, ApprovalRecord[]>> {
  const rows = await readInChunks(ids, (c) =>
    sql.query<ApprovalRow & { pinned_id: string }>(
      `SELECT p.resource_id AS pinned_id, ${approvalColumns('a')}
       FROM approval_pin p JOIN approval a ON a.id = p.approval_id${only.sql ? ' JOIN resource ON resource.id = a.resource_id' : ''}
       WHERE a.revoked_at IS NULL AND p.resource_id IN (${placeholders(c.length)})${only.sql} ORDER BY a.approved_at`,
      [...c, ...only.params],
    ),
  );
  const out = new Map<string, ApprovalRecord[]>();
  for (const r of rows) out.set(r.pinned_id, [...(out.get(r.pinned_id) ?? []), toApproval(r)]);
  return out;
}
