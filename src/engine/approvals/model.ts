import type { Timestamp } from '../../data/time.js';
import type { Content } from '../resources/model.js';

export interface ApprovalRecord {
  id: string;
  resourceId: string;
  approvedAt: Timestamp;
  revokedAt: Timestamp | null;
}

export interface PinRecord {
  approvalId: string;
  resourceId: string;
  kind: string;
  version: number;
  content: Content;
}
