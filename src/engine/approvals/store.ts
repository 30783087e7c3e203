import { chunks, placeholders, readInChunks } from '../../data/chunk.js';
import type { Sql } from '../../data/db.js';
import type { ApprovalPinRow, ApprovalRow } from '../../data/entities.js';
import { approvalColumns, toApproval } from '../lifecycle/queries.js';
import { EVERYTHING } from '../resources/store.js';
import type { SqlCondition } from '../resources/tenancy.js';
import { toPin, toSnapshot } from './approvals.js';
import type { ApprovalRecord, PinRecord, RemoteSnapshotRecord } from './model.js';

/** Reads of approvals: one statement per batch, whatever the size of the pinned closure. */

/** Approvals by id; with `only`, approvals of groups the caller may read. */
export const approvalsByIds = (sql: Sql, ids: readonly string[], only: SqlCondition = EVERYTHING): Promise<ApprovalRecord[]> =>
  readInChunks(ids, async (c) =>
    (
      await sql.query<ApprovalRow>(
        `SELECT ${approvalColumns('a')} FROM approval a${only.sql ? ' JOIN resource ON resource.id = a.resource_id' : ''}
         WHERE a.id IN (${placeholders(c.length)})${only.sql}`,
        [...c, ...only.params],
      )
    ).map(toApproval),
  );

export const approvalsInForce = (sql: Sql, resourceIds: readonly string[]): Promise<ApprovalRecord[]> =>
  readInChunks(resourceIds, async (c) =>
    (
      await sql.query<ApprovalRow>(
        `SELECT ${approvalColumns()} FROM approval WHERE revoked_at IS NULL AND resource_id IN (${placeholders(c.length)})`,
        c,
      )
    ).map(toApproval),
  );

export const pinsOf = (sql: Sql, approvalIds: readonly string[]): Promise<PinRecord[]> =>
  readInChunks(approvalIds, async (c) =>
    (
      await sql.query<ApprovalPinRow>(
        `SELECT approval_id, resource_id, kind, version, content FROM approval_pin WHERE approval_id IN (${placeholders(c.length)}) ORDER BY approval_id, resource_id`,
        c,
      )
    ).map(toPin),
  );

export async function pinsFor(sql: Sql, keys: readonly { approvalId: string; resourceId: string }[]): Promise<PinRecord[]> {
  const out: PinRecord[] = [];
  for (const c of chunks(keys)) {
    const rows = await sql.query<ApprovalPinRow>(
      `SELECT approval_id, resource_id, kind, version, content FROM approval_pin WHERE (approval_id, resource_id) IN (${c.map(() => '(?, ?)').join(', ')})`,
      c.flatMap((k) => [k.approvalId, k.resourceId]),
    );
    out.push(...rows.map(toPin));
  }
  return out;
}

/** Approvals of which some pinned resource has moved on (a newer version, or gone). */
export async function staleApprovals(sql: Sql, approvalIds: readonly string[]): Promise<Set<string>> {
  const rows = await readInChunks(approvalIds, (c) =>
    sql.query<{ approval_id: string }>(
      `SELECT DISTINCT p.approval_id FROM approval_pin p LEFT JOIN resource r ON r.id = p.resource_id
       WHERE p.approval_id IN (${placeholders(c.length)}) AND (r.id IS NULL OR r.version > p.version)`,
      c,
    ),
  );
  return new Set(rows.map((r) => r.approval_id));
}

export const snapshotsOf = (sql: Sql, approvalIds: readonly string[]): Promise<RemoteSnapshotRecord[]> =>
  readInChunks(approvalIds, async (c) =>
    (
      await sql.query<Parameters<typeof toSnapshot>[0]>(
        `SELECT approval_id, resource_id, path, entity_type, remote_key_payload, entity, status, fetched_at FROM approval_remote_snapshot
         WHERE approval_id IN (${placeholders(c.length)}) ORDER BY resource_id, path`,
        c,
      )
    ).map(toSnapshot),
  );
