import type { Timestamp } from '../../data/time.js';

/** A document's content: identity, plain fields, references by natural key, remote keys. */
export type Content = Record<string, unknown>;

export type ResourceStatus = 'ACTIVE' | 'MARKED_FOR_DELETION';
export type ReferenceType = 'CHILD' | 'ARBITRARY';

export interface ResourceRecord {
  id: string;
  kind: string;
  naturalKey: string;
  name: string;
  parentId: string | null;
  content: Content;
  version: number;
  status: ResourceStatus;
  createdAt: Timestamp;
  updatedAt: Timestamp;
  markedAt: Timestamp | null;
  deleteAfter: Timestamp | null;
  markId: string | null;
  /** Subject of the token that marked it. */
  markedBy: string | null;
}

export interface ReferenceRecord {
  fromId: string;
  toId: string;
  type: ReferenceType;
  path: string;
  createdAt: Timestamp;
}

export interface VersionRecord {
  resourceId: string;
  version: number;
  validFrom: Timestamp;
  validTo: Timestamp | null;
  content: Content;
  /** Subject of the token that made this version. */
  changedBy: string | null;
}

/** A reference a document's content makes, before its target's id is known. */
export interface PlannedReference {
  path: string;
  type: ReferenceType;
  kind: string;
  naturalKey: string;
  /** How a message names the target: its kind and natural key, e.g. `Widget shelf-a/w1`. */
  label: string;
}
