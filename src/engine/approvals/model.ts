import type { Timestamp } from '../../data/time.js';
import type { Content } from '../resources/model.js';

export interface ApprovalRecord {
  id: string;
  resourceId: string;
  approvedAt: Timestamp;
  revokedAt: Timestamp | null;
  approvedBy: string | null;
  revokedBy: string | null;
}

export interface PinRecord {
  approvalId: string;
  resourceId: string;
  kind: string;
  version: number;
  content: Content;
}

/** The remote entity a pinned resource referred to, as it was when the approval was made. */
export interface RemoteSnapshotRecord {
  approvalId: string;
  resourceId: string;
  path: string;
  entityType: string;
  key: Record<string, string>;
  entity: Record<string, unknown> | null;
  /** FRESH or DELETED as the cache knew it at approval time; null for approvals made before it was recorded. */
  status: 'FRESH' | 'DELETED' | null;
  fetchedAt: Timestamp | null;
}
