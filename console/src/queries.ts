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
  /** True when built from deletionQueue (the server predates Resource.deletion). */
  approximate?: boolean;
}

export const NODE = `fragment Node on Resource { id kind naturalKey status }`;
export const REMOTE = `fragment Remote on RemoteReference { id entityType key status fetchedAt lastError }`;
/**
 * How the console asks for an explanation's blockers: with a page (`first`), without one (a server
 * whose list takes no argument), or not at all (a server that predates the explanation).
 */
export type ExplanationMode = 'paged' | 'unpaged';

const EXPLANATION = (mode: ExplanationMode, first: number) => `fragment Explanation on DeletionExplanation {
  collectable leaseHolder leaseSince
  blockers${mode === 'paged' ? `(first: ${first})` : ''} { reason until path from { ...Node } ancestor { ...Node } descendant { ...Node } approval { id resource { ...Node } } } }`;

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

export const QUEUE_WITH_EXPLANATION = (mode: ExplanationMode) =>
  `query ConsoleQueue { deletionQueue(first: 100) { resource { ...Node } deleteAfter explanation { ...Explanation } } } ${NODE} ${EXPLANATION(mode, 5)}`;
export const QUEUE_PLAIN = `query ConsoleQueuePlain { deletionQueue(first: 100) {
  resource { ...Node } deleteAfter blockers(first: 20) { path from { ...Node } } pinnedBy(first: 5) { id resource { ...Node } } } } ${NODE}`;

export const BROWSE = `query ConsoleKind($kind: String!, $status: ResourceStatus, $search: String, $first: Int, $after: ID) {
  resources(kind: $kind, status: $status, search: $search, first: $first, after: $after) { ...Node version updatedAt deleteAfter }
} ${NODE}`;

const RESOURCE_BODY = (withDeletion: ExplanationMode | null) => `
    ...Node version createdAt updatedAt markedForDeletionAt markedForDeletionBy deleteAfter
    ${withDeletion ? 'deletion { ...Explanation }' : ''}
    history(first: 50) { version validFrom validTo content changedBy }
    referencedBy(first: 200) { type path from { ...Node } }
    ... on Project { billingAccount { ...Remote } }
    ... on CompositeApp { project { ...Node } }
    ... on CompositeProfile { compositeApp { ...Node project { ...Node } } }
    ... on DeploymentIntentGroup {
      compositeProfile { ...Node compositeApp { ...Node project { ...Node } } }
      logicalCluster { ...Node } clusters(first: 100) { ...Node } owner { ...Remote }
      approval { id approvedAt approvedBy stale }
    }
    ... on LogicalCluster { project { ...Node } }
    ... on Cluster { provider { ...Node } }`;

export const RESOURCE = (withDeletion: ExplanationMode | null) =>
  `query ConsoleResource($id: ID!) { resource(id: $id) { ${RESOURCE_BODY(withDeletion)} } } ${NODE} ${REMOTE} ${withDeletion ? EXPLANATION(withDeletion, 200) : ''}`;

export const AS_OF = `query ConsoleAsOf($id: ID!, $at: DateTime!) { resource(id: $id) { id asOf(at: $at) { version validFrom validTo content changedBy } } }`;

export const MARK = (withExplanation: ExplanationMode | null) => `mutation ConsoleMark($id: ID!) { markForDeletion(id: $id) {
  resource { id status } marked(first: 1000) { id } ${withExplanation ? 'explanation { ...Explanation }' : ''} } } ${withExplanation ? `${NODE} ${EXPLANATION(withExplanation, 100)}` : ''}`;
export const CANCEL = `mutation ConsoleCancel($id: ID!) { cancelDeletion(id: $id) { id status } }`;

export const GC = (withExplanation: ExplanationMode | null) => `mutation ConsoleGc($dryRun: Boolean!) { collectGarbage(dryRun: $dryRun) {
  dryRun deleted archived orphanRemoteRefsDeleted
  blocked(first: 100) { resource { ...Node } deleteAfter
    ${withExplanation ? 'explanation { ...Explanation }' : 'blockers(first: 20) { path from { ...Node } } pinnedBy(first: 5) { id resource { ...Node } }'} } } }
  ${NODE} ${withExplanation ? EXPLANATION(withExplanation, 10) : ''}`;

export const APPROVAL = `query ConsoleApproval($id: ID!) { approval(id: $id) {
  id approvedAt approvedBy revokedAt revokedBy stale resource { ...Node }
  pins(first: 1000) { resourceId kind version content }
} } ${NODE}`;

export const APPROVE = `mutation ConsoleApprove($id: ID!) { approveDeploymentIntentGroup(id: $id) { id } }`;
export const REVOKE = `mutation ConsoleRevoke($id: ID!) { revokeApproval(id: $id) { id revokedAt } }`;

/** The current state of several resources at once (aliases, ids as variables). */
export function currentOf(ids: readonly string[]): { query: string; variables: Record<string, string> } {
  const variables: Record<string, string> = {};
  const fields = ids.map((id, i) => {
    variables[`i${i}`] = id;
    return `r${i}: resource(id: $i${i}) { ...Node version history(first: 1) { version content } }`;
  });
  const params = ids.map((_, i) => `$i${i}: ID!`).join(', ');
  return { query: `query ConsoleCurrent${params ? `(${params})` : ''} { ${fields.join('\n') || '__typename'} } ${ids.length ? NODE : ''}`, variables };
}
