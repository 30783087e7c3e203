import { useState } from 'preact/hooks';
import { gql, mayUse } from '../api.js';
import { approvableKinds, updateInputFields } from '../api-shape.js';
import { Confirm, ErrorBox, Loading, ResourceLink, Status, useLoad } from '../components/common.js';
import { ExplanationView } from '../components/Explanation.js';
import { Graph, type GraphEdge, type GraphNode } from '../components/Graph.js';
import { History } from '../components/History.js';
import { removalInput, removeReference } from '../edits.js';
import { relative, when } from '../format.js';
import {
  APPROVE,
  CANCEL,
  MARK,
  PARENTS,
  RESOURCE,
  type Explanation,
  type Node,
  type OutReference,
  type Reference,
  type RemoteLink,
  type RemoteRef,
  type Up,
  type Version,
} from '../queries.js';
import { href, navigate, headingRef } from '../router.js';

interface ResourceData extends Up {
  version: number;
  createdAt: string;
  updatedAt: string;
  markedForDeletionAt: string | null;
  markedForDeletionBy: string | null;
  deleteAfter: string | null;
  deletion: Explanation;
  history: Version[];
  referencedBy: Reference[];
  references: OutReference[];
  remoteReferences: RemoteLink[];
  /** Only on approvable kinds. */
  approval?: { id: string; approvedAt: string; approvedBy: string | null; stale: boolean } | null;
}

interface Loaded {
  r: ResourceData | null;
  /** Parent chain, nearest first. */
  parents: Node[];
  approvable: boolean;
  /** The fields the kind's update takes (what the console can clear). */
  editable: ReadonlySet<string>;
}

/** The parent chain from an `up` answer, nearest first; `next` is where it goes on, when it does. */
function chainOf(top: Up): { chain: Node[]; next: string | null } {
  const chain: Node[] = [];
  let at: Up = top;
  for (;;) {
    const parent = at.up?.[0];
    if (parent?.type !== 'CHILD') return { chain, next: null };
    chain.push(parent.to);
    if (parent.to.up === undefined) return { chain, next: parent.to.id };
    at = parent.to;
  }
}

async function loadResource(id: string): Promise<Loaded> {
  const approvable = await approvableKinds();
  const { resource: r } = await gql<{ resource: ResourceData | null }>(RESOURCE(approvable), { id });
  if (!r) return { r: null, parents: [], approvable: false, editable: new Set() };
  const editable = await updateInputFields(r.kind);
  const first = chainOf(r);
  let parents = first.chain;
  let next = first.next;
  // Deeper than one request asks: on from the highest parent read.
  while (next) {
    const { resource: top } = await gql<{ resource: Up | null }>(PARENTS, { id: next });
    if (!top) break;
    const more = chainOf(top);
    parents = [...parents, ...more.chain];
    next = more.next;
  }
  return { r, parents, approvable: approvable.includes(r.kind), editable };
}

interface Outgoing {
  path: string;
  node?: Node;
  remote?: RemoteRef;
}

/** What it refers to, its parent aside: resources by path, then remote references. */
function outgoingOf(r: ResourceData): Outgoing[] {
  return [
    ...r.references.filter((x) => x.type !== 'CHILD').map((x) => ({ path: x.path, node: x.to })),
    ...r.remoteReferences.map((x) => ({ path: x.path, remote: x.reference })),
  ];
}

const tone = (n: Node): GraphNode['tone'] => (n.status === 'MARKED_FOR_DELETION' ? 'marked' : 'active');
const last = (key: string) => key.split('/').pop() ?? key;
const remoteTitle = (x: RemoteRef) => Object.values(x.key).map(String).join(' / ');
const MAX_NEIGHBOURS = 40;

function neighbourhood(r: ResourceData, parents: Node[]): { nodes: GraphNode[]; edges: GraphEdge[]; hidden: number } {
  const nodes = new Map<string, GraphNode>();
  const edges: GraphEdge[] = [];
  const add = (n: GraphNode) => nodes.has(n.id) || nodes.set(n.id, n);
  const res = (n: Node): GraphNode => ({
    id: n.id,
    title: last(n.naturalKey),
    subtitle: n.kind,
    tone: tone(n),
    href: href.resource(n.id),
    tooltip: `${n.kind} ${n.naturalKey} (${n.status})`,
  });
  add({ ...res(r), tone: 'self', href: undefined });
  let below = r.id;
  for (const p of parents) {
    add(res(p));
    edges.push({ from: p.id, to: below, label: 'parent', arrow: 'start', kind: 'child' });
    below = p.id;
  }
  let hidden = 0;
  for (const ref of r.referencedBy) {
    if (nodes.size >= MAX_NEIGHBOURS) {
      hidden++;
      continue;
    }
    add(res(ref.from));
    if (ref.type === 'CHILD') edges.push({ from: r.id, to: ref.from.id, label: 'child', arrow: 'start', kind: 'child' });
    else edges.push({ from: ref.from.id, to: r.id, label: ref.path, arrow: 'end', kind: 'reference' });
  }
  for (const o of outgoingOf(r)) {
    if (o.node) {
      add(res(o.node));
      edges.push({ from: r.id, to: o.node.id, label: o.path, arrow: 'end', kind: 'reference' });
    } else if (o.remote) {
      const x = o.remote;
      add({
        id: `remote:${x.id}`,
        title: remoteTitle(x),
        subtitle: `${x.entityType} · ${x.status}`,
        tone: x.status.toLowerCase() as GraphNode['tone'],
        tooltip: x.lastError ?? `${x.entityType} ${x.status}`,
      });
      edges.push({ from: r.id, to: `remote:${x.id}`, label: o.path, arrow: 'end', kind: 'remote' });
    }
  }
  return { nodes: [...nodes.values()], edges, hidden };
}

function Fields({ r }: { r: ResourceData }) {
  const content = r.history[0]?.content ?? {};
  return (
    <dl class="fields">
      <dt>id</dt>
      <dd>
        <code>{r.id}</code>
      </dd>
      <dt>version</dt>
      <dd>{r.version}</dd>
      {Object.entries(content).map(([k, v]) => (
        <>
          <dt>{k}</dt>
          <dd>{typeof v === 'string' ? v : <code>{JSON.stringify(v)}</code>}</dd>
        </>
      ))}
      <dt>created</dt>
      <dd>{when(r.createdAt)}</dd>
      <dt>updated</dt>
      <dd>{when(r.updatedAt)}</dd>
      {r.markedForDeletionAt && (
        <>
          <dt>marked</dt>
          <dd>
            {when(r.markedForDeletionAt)}
            {r.markedForDeletionBy ? ` by ${r.markedForDeletionBy}` : ''}
          </dd>
          <dt>delete after</dt>
          <dd>
            {when(r.deleteAfter)} ({relative(r.deleteAfter)})
          </dd>
        </>
      )}
    </dl>
  );
}

function Actions({ r, approvable, reload }: { r: ResourceData; approvable: boolean; reload: () => void }) {
  const marked = r.status === 'MARKED_FOR_DELETION';
  const admin = mayUse('integrity:admin');
  const approver = mayUse('integrity:approve') && approvable;
  if (!admin && !approver) return null;
  return (
    // biome-ignore lint/a11y/useSemanticElements: a row of buttons, not form fields: <fieldset> would draw a frame and a legend
    <div class="actions" role="group" aria-label="Actions">
      {admin && !marked && (
        <Confirm
          label="Mark for deletion"
          title={`Mark ${r.kind} ${r.naturalKey} for deletion?`}
          danger
          onConfirm={async () => {
            await gql(MARK, { id: r.id });
            reload();
          }}
        >
          <p>
            It and its descendants are marked; garbage collection deletes them once nothing holds them. Cancelling is possible until then.
          </p>
        </Confirm>
      )}
      {admin && marked && (
        <Confirm
          label="Cancel deletion"
          title={`Cancel the deletion of ${r.kind} ${r.naturalKey}?`}
          onConfirm={async () => {
            await gql(CANCEL, { id: r.id });
            reload();
          }}
        >
          <p>Un-marks what the same mark marked.</p>
        </Confirm>
      )}
      {approver && !marked && (
        <Confirm
          label={r.approval ? 'Approve again' : 'Approve'}
          title={`Approve ${r.naturalKey}?`}
          onConfirm={async () => {
            const { approval: a } = await gql<{ approval: { id: string } }>(APPROVE(r.kind), { id: r.id });
            navigate(href.approval(a.id));
          }}
        >
          <p>
            Pins it, its parents and everything it refers to at their current versions
            {r.approval ? ', replacing the approval in force' : ''}.
          </p>
        </Confirm>
      )}
    </div>
  );
}

function OutgoingList({ r, editable, reload }: { r: ResourceData; editable: ReadonlySet<string>; reload: () => void }) {
  const out = outgoingOf(r);
  const content = r.history[0]?.content ?? {};
  const writer = mayUse('integrity:write');
  if (!out.length) return null;
  return (
    <section class="card" aria-labelledby="out">
      <h2 id="out">References out</h2>
      <ul class="plain">
        {out.map((o) => {
          const input = removalInput(o.path, content, editable);
          return (
            <li key={o.path} data-path={o.path}>
              <code>{o.path}</code> →{' '}
              {o.node ? (
                <ResourceLink node={o.node} />
              ) : o.remote ? (
                <span>
                  {o.remote.entityType} {remoteTitle(o.remote)}{' '}
                  <span class={`badge remote-${o.remote.status.toLowerCase()}`}>{o.remote.status}</span>
                  {o.remote.lastError && <span class="muted small"> {o.remote.lastError}</span>}
                </span>
              ) : null}{' '}
              {writer && input && (
                <Confirm
                  label="Remove"
                  ariaLabel={`Remove reference ${o.path}`}
                  title={`Remove the reference at ${o.path}?`}
                  confirmLabel="Remove reference"
                  danger
                  onConfirm={async () => {
                    await removeReference(r.kind, r.id, r.version, input);
                    reload();
                  }}
                >
                  <p>
                    Updates {r.kind} {r.naturalKey} (version {r.version}) without it. A change since you loaded the page is refused
                    (VERSION_CONFLICT).
                  </p>
                </Confirm>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function Referrers({ r }: { r: ResourceData }) {
  const refs = r.referencedBy;
  return (
    <section class="card" aria-labelledby="in">
      <h2 id="in">Referenced by ({refs.length})</h2>
      {refs.length === 0 ? (
        <p class="muted">Nothing refers to it.</p>
      ) : (
        <ul class="plain">
          {refs.map((x) => (
            <li key={`${x.from.id}:${x.path}`}>
              <ResourceLink node={x.from} /> at <code>{x.path}</code>{' '}
              <span class="muted small">({x.type === 'CHILD' ? 'child' : 'reference'})</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Approvals({ r, explanation }: { r: ResourceData; explanation: Explanation | null }) {
  const pins = (explanation?.blockers ?? []).filter((b) => b.reason === 'PINNED' && b.approval);
  const own = r.approval;
  if (!own && !pins.length) return null;
  return (
    <section class="card" aria-labelledby="appr">
      <h2 id="appr">Approvals</h2>
      <ul class="plain">
        {own && (
          <li>
            Its approval in force: <a href={href.approval(own.id)}>{own.id}</a>, {when(own.approvedAt)}
            {own.approvedBy ? ` by ${own.approvedBy}` : ''} {own.stale && <span class="badge stale">stale</span>}
          </li>
        )}
        {pins.map((b) => (
          <li key={b.approval!.id}>
            Pinned by <a href={href.approval(b.approval!.id)}>{b.approval!.id}</a>
            {b.approval!.resource && (
              <>
                {' '}
                of <ResourceLink node={b.approval!.resource} />
              </>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

export function ResourceView({ id }: { id: string }) {
  const loaded = useLoad(() => loadResource(id), [id]);
  const [showAll, setShowAll] = useState(false);
  if (loaded.loading && !loaded.data) return <Loading />;
  if (loaded.error) return <ErrorBox error={loaded.error} />;
  const { r, parents, approvable, editable } = loaded.data!;
  const explanation = r?.deletion ?? null;
  if (!r)
    return (
      <section>
        <h1 tabIndex={-1} ref={headingRef}>
          Not found
        </h1>
        <p data-testid="gone">
          There is no resource <code>{id}</code> (it was deleted, or you may not read it).
        </p>
        <p>
          <a href={href.overview()}>Back to the overview</a>
        </p>
      </section>
    );
  const marked = r.status === 'MARKED_FOR_DELETION';
  const graph = neighbourhood(r, parents);
  return (
    <article>
      <nav class="crumbs" aria-label="Breadcrumbs">
        <a href={href.overview()}>Overview</a> › <a href={href.kind(r.kind)}>{r.kind}</a> ›{' '}
        {[...parents].reverse().map((p) => (
          <>
            <a href={href.resource(p.id)}>{last(p.naturalKey)}</a> ›{' '}
          </>
        ))}
      </nav>
      <h1 tabIndex={-1} ref={headingRef}>
        <span class="kind">{r.kind}</span> {r.naturalKey} <Status status={r.status} />
      </h1>
      <Actions r={r} approvable={approvable} reload={loaded.reload} />
      {explanation && (marked || showAll) && <ExplanationView explanation={explanation} marked={marked} />}
      {!marked && explanation && !showAll && (
        <p>
          <button type="button" onClick={() => setShowAll(true)}>
            What would stop its deletion?
          </button>
        </p>
      )}
      <div class="grid2">
        <section class="card" aria-labelledby="fields">
          <h2 id="fields">Fields</h2>
          <Fields r={r} />
        </section>
        <section class="card" aria-labelledby="nb">
          <h2 id="nb">Neighbourhood</h2>
          <Graph nodes={graph.nodes} edges={graph.edges} label={`Neighbourhood of ${r.kind} ${r.naturalKey}`} />
          {graph.hidden > 0 && <p class="muted small">{graph.hidden} more referrers are listed below.</p>}
        </section>
      </div>
      <OutgoingList r={r} editable={editable} reload={loaded.reload} />
      <Referrers r={r} />
      <Approvals r={r} explanation={explanation} />
      <History id={r.id} versions={r.history} />
    </article>
  );
}
