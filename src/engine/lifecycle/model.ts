import type { Timestamp } from '../../data/time.js';
import type { ApprovalRecord } from '../approvals/model.js';
import type { ReferenceRecord, ResourceRecord } from '../resources/model.js';

export interface MarkResult {
  resource: ResourceRecord;
  marked: ResourceRecord[];
  blockers: ReferenceRecord[];
  /** Why the marked resource is not collected yet, as `Resource.deletion` says it. */
  explanation: DeletionExplanationRecord;
}

export type DeletionReason = 'NOT_MARKED' | 'RETENTION' | 'REFERENCED' | 'ANCESTOR_REFERENCED' | 'PINNED' | 'DESCENDANT_HELD';

/**
 * One reason a resource is not collected (or would not be). `ref` is the reference behind
 * REFERENCED, ANCESTOR_REFERENCED and DESCENDANT_HELD (the held child's `parent`).
 */
export type DeletionBlockerRecord =
  | { reason: 'NOT_MARKED' }
  | { reason: 'RETENTION'; until: Timestamp }
  | { reason: 'REFERENCED'; ref: ReferenceRecord }
  | { reason: 'ANCESTOR_REFERENCED'; ref: ReferenceRecord }
  | { reason: 'DESCENDANT_HELD'; ref: ReferenceRecord }
  | { reason: 'PINNED'; approval: ApprovalRecord };

/** The maintenance lease while a run holds it. */
export interface LeaseState {
  holder: string;
  since: Timestamp;
}

export interface DeletionExplanationRecord {
  resourceId: string;
  /** Marked, and no blocker: the next collection deletes it. */
  collectable: boolean;
  blockers: DeletionBlockerRecord[];
  lease: LeaseState | null;
}

export interface DeletionCandidateRecord {
  resource: ResourceRecord;
  deleteAfter: Timestamp;
  /** The references among the explanation's blockers (referrers, referrers of ancestors, held children). */
  blockers: ReferenceRecord[];
  /** The approvals among the explanation's blockers. */
  pinnedBy: ApprovalRecord[];
  explanation: DeletionExplanationRecord;
}

export interface GcReport {
  dryRun: boolean;
  deleted: string[];
  archived: number;
  blocked: DeletionCandidateRecord[];
  orphanRemoteRefsDeleted: number;
}

export interface PruneReport {
  versionsDeleted: number;
  versionsKeptForApprovals: number;
}
