import { approveField } from './api-shape.js';

/** The GraphQL documents the console sends; every list asks an explicit page (the cost estimate counts defaults). */

export interface Node {
  id: string;
  kind: string;
  naturalKey: string;
  status: 'ACTIVE' | 'MARKED_FOR_DELETION';
}

export interface RemoteRef {
  id: string;
  entityType: string;
  key: Record<string, unknown>;
  status: 'FRESH' | 'DELETED' | 'MISSING';
  fetchedAt: string | null;
  lastError: string | null;
}

export interface Version {
  version: number;
  validFrom: string;
  validTo: string | null;
  content: Record<string, unknown>;
  changedBy: string | null;
}

export interface Reference {
  type: 'CHILD' | 'ARBITRARY';
  path: string;
  from: Node;
}

export type Reason = 'NOT_MARKED' | 'RETENTION' | 'REFERENCED' | 'ANCESTOR_REFERENCED' | 'PINNED' | 'DESCENDANT_HELD';

export interface Blocker {
  reason: Reason;
  until?: string | null;
  from?: Node | null;
  path?: string | null;
  ancestor?: Node | null;
  approval?: { id: string; resource?: Node | null } | null;
  descendant?: Node | null;
}

export interface Explanation {
  collectable: boolean;
  blockers: Blocker[];
  leaseHolder?: string | null;
  leaseSince?: string | null;
}

/** A reference out of a resource: its parent (CHILD, path `parent`) or one of its body's. */
export interface OutReference {
  type: 'CHILD' | 'ARBITRARY';
  path: string;
  to: Node;
}

export interface RemoteLink {
  path: string;
  reference: RemoteRef;
}

/** A resource with the first reference out of it: its parent when it has one (the list starts with `parent`). */
export type Up = Node & { up?: { type: 'CHILD' | 'ARBITRARY'; to: Up }[] };

export const NODE = `fragment Node on Resource { id kind naturalKey status }`;
export const REMOTE = `fragment Remote on RemoteReference { id entityType key status fetchedAt lastError }`;

const EXPLANATION = (first: number) => `fragment Explanation on DeletionExplanation {
  collectable leaseHolder leaseSince
  blockers(first: ${first}) { reason until path from { ...Node } ancestor { ...Node } descendant { ...Node } approval { id resource { ...Node } } } }`;

/** Parents this many levels up in one request (the list of references starts with the parent); further ones are asked again. */
export const PARENT_LEVELS = 3;
const upChain = (levels: number): string => (levels === 0 ? '' : `up: references(first: 1) { type to { ...Node ${upChain(levels - 1)} } }`);

export const OVERVIEW = `query ConsoleOverview {
  integrityOverview {
    kinds
    resourceCounts { kind status count }
    remoteCache { entityType fresh deleted missing failing oldestFetchedAt }
    sources { name breaker }
    changeFeed { transport lagSeconds deadLettered applied }
    leases { name holder since }
    maintenanceRuns { job outcome count }
  }
}`;

export const QUEUE = `query ConsoleQueue { deletionQueue(first: 100) { resource { ...Node } deleteAfter explanation { ...Explanation } } } ${NODE} ${EXPLANATION(5)}`;

export const BROWSE = `query ConsoleKind($kind: String!, $status: ResourceStatus, $search: String, $first: Int, $after: ID) {
  resources(kind: $kind, status: $status, search: $search, first: $first, after: $after) { ...Node version updatedAt deleteAfter }
} ${NODE}`;

/**
 * A resource with its neighbourhood, the same for every kind: its parents, what it refers to,
 * what refers to it, its remote references, and the approval in force when its kind is one of `approvable`.
 */
export const RESOURCE = (approvable: readonly string[]) => `query ConsoleResource($id: ID!) { resource(id: $id) {
    ...Node version createdAt updatedAt markedForDeletionAt markedForDeletionBy deleteAfter
    deletion { ...Explanation }
    history(first: 50) { version validFrom validTo content changedBy }
    referencedBy(first: 200) { type path from { ...Node } }
    references(first: 200) { type path to { ...Node } }
    ${upChain(PARENT_LEVELS)}
    remoteReferences(first: 20) { path reference { ...Remote } }
    ${approvable.map((k) => `... on ${k} { approval { id approvedAt approvedBy stale } }`).join(' ')}
  } } ${NODE} ${REMOTE} ${EXPLANATION(200)}`;

/** The parents above a resource, from its id up. */
export const PARENTS = `query ConsoleParents($id: ID!) { resource(id: $id) { ...Node ${upChain(PARENT_LEVELS)} } } ${NODE}`;

export const AS_OF = `query ConsoleAsOf($id: ID!, $at: DateTime!) { resource(id: $id) { id asOf(at: $at) { version validFrom validTo content changedBy } } }`;

export const MARK = `mutation ConsoleMark($id: ID!) { markForDeletion(id: $id) {
  resource { id status } marked(first: 1000) { id } explanation { ...Explanation } } } ${NODE} ${EXPLANATION(100)}`;
export const CANCEL = `mutation ConsoleCancel($id: ID!) { cancelDeletion(id: $id) { id status } }`;

export const GC = `mutation ConsoleGc($dryRun: Boolean!) { collectGarbage(dryRun: $dryRun) {
  dryRun deleted archived orphanRemoteRefsDeleted
  blocked(first: 100) { resource { ...Node } deleteAfter explanation { ...Explanation } } } }
  ${NODE} ${EXPLANATION(10)}`;

export const APPROVAL = `query ConsoleApproval($id: ID!) { approval(id: $id) {
  id approvedAt approvedBy revokedAt revokedBy stale resource { ...Node }
  pins(first: 1000) { resourceId kind version content }
} } ${NODE}`;

/** Approving a resource of an approvable kind: `approve<Kind>`, the field aliased so the answer reads alike for every kind. */
export const APPROVE = (kind: string) => `mutation ConsoleApprove($id: ID!) { approval: ${approveField(kind)}(id: $id) { id } }`;
export const REVOKE = `mutation ConsoleRevoke($id: ID!) { revokeApproval(id: $id) { id revokedAt } }`;

/** The current state of several resources at once (aliases, ids as variables). */
export function currentOf(ids: readonly string[]): { query: string; variables: Record<string, string> } {
  const variables: Record<string, string> = {};
  const fields = ids.map((id, i) => {
    variables[`i${i}`] = id;
    return `r${i}: resource(id: $i${i}) { ...Node version history(first: 1) { version content } }`;
  });
  const params = ids.map((_, i) => `$i${i}: ID!`).join(', ');
  return {
    query: `query ConsoleCurrent${params ? `(${params})` : ''} { ${fields.join('\n') || '__typename'} } ${ids.length ? NODE : ''}`,
    variables,
  };
}
