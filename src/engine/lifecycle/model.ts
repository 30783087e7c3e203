import type { Timestamp } from '../../data/time.js';
import type { ApprovalRecord } from '../approvals/model.js';
import type { ReferenceRecord, ResourceRecord } from '../resources/model.js';

export interface MarkResult {
  resource: ResourceRecord;
  marked: ResourceRecord[];
  blockers: ReferenceRecord[];
}

export interface DeletionCandidateRecord {
  resource: ResourceRecord;
  deleteAfter: Timestamp;
  blockers: ReferenceRecord[];
  pinnedBy: ApprovalRecord[];
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
