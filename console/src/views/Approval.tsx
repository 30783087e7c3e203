import { gql, mayUse } from '../api.js';
import { Confirm, ErrorBox, Loading, ResourceLink, useLoad } from '../components/common.js';
import { DiffView } from '../components/Diff.js';
import { when } from '../format.js';
import { APPROVAL, APPROVE, currentOf, REVOKE, type Node } from '../queries.js';
import { href, navigate, headingRef } from '../router.js';

interface Pin {
  resourceId: string;
  kind: string;
  version: number;
  content: Record<string, unknown>;
}

interface ApprovalData {
  id: string;
  approvedAt: string;
  approvedBy: string | null;
  revokedAt: string | null;
  revokedBy: string | null;
  stale: boolean;
  resource: Node;
  pins: Pin[];
}

interface Current extends Node {
  version: number;
  history: { version: number; content: Record<string, unknown> }[];
}

async function load(id: string): Promise<{ a: ApprovalData | null; current: Map<string, Current> }> {
  const { approval } = await gql<{ approval: ApprovalData | null }>(APPROVAL, { id });
  const current = new Map<string, Current>();
  if (!approval) return { a: null, current };
  const ids = approval.pins.map((p) => p.resourceId);
  for (let i = 0; i < ids.length; i += 100) {
    const { query, variables } = currentOf(ids.slice(i, i + 100));
    const found = await gql<Record<string, Current | null>>(query, variables);
    for (const r of Object.values(found)) if (r) current.set(r.id, r);
  }
  return { a: approval, current };
}

/** An approval: every pinned resource, pinned version against current with the difference. */
export function ApprovalView({ id }: { id: string }) {
  const loaded = useLoad(() => load(id), [id]);
  if (loaded.loading && !loaded.data) return <Loading />;
  if (loaded.error) return <ErrorBox error={loaded.error} />;
  const { a, current } = loaded.data!;
  if (!a)
    return (
      <>
        <h1 tabIndex={-1} ref={headingRef}>
          Not found
        </h1>
        <p>There is no approval {id} you may read.</p>
      </>
    );
  const approver = mayUse('integrity:approve');
  const changed = a.pins.filter((p) => (current.get(p.resourceId)?.version ?? -1) !== p.version);
  return (
    <article>
      <nav class="crumbs" aria-label="Breadcrumbs">
        <a href={href.overview()}>Overview</a> › <a href={href.resource(a.resource.id)}>{a.resource.naturalKey}</a> › approval
      </nav>
      <h1 tabIndex={-1} ref={headingRef}>
        Approval of {a.resource.naturalKey}{' '}
        {a.revokedAt ? (
          <span class="badge">revoked</span>
        ) : a.stale ? (
          <span class="badge stale" data-testid="stale">
            stale
          </span>
        ) : (
          <span class="badge ok" data-testid="current">
            current
          </span>
        )}
      </h1>
      <p>
        Approved {when(a.approvedAt)}
        {a.approvedBy ? ` by ${a.approvedBy}` : ''}
        {a.revokedAt && `; revoked ${when(a.revokedAt)}${a.revokedBy ? ` by ${a.revokedBy}` : ''}`}. Group:{' '}
        <ResourceLink node={a.resource} />. {a.pins.length} resources pinned, <span data-testid="changed-count">{changed.length}</span>{' '}
        changed since.
      </p>
      {approver && !a.revokedAt && (
        <div class="actions">
          <Confirm
            label="Approve again"
            title={`Approve ${a.resource.naturalKey} again?`}
            onConfirm={async () => {
              const { approval: n } = await gql<{ approval: { id: string } }>(APPROVE(a.resource.kind), { id: a.resource.id });
              navigate(href.approval(n.id));
            }}
          >
            <p>Pins every resource of the closure at its current version; this approval is replaced.</p>
          </Confirm>
          <Confirm
            label="Revoke"
            title="Revoke this approval?"
            danger
            onConfirm={async () => {
              await gql(REVOKE, { id: a.id });
              loaded.reload();
            }}
          >
            <p>The pinned resources are no longer held for it.</p>
          </Confirm>
        </div>
      )}
      <section class="card" aria-labelledby="pins">
        <h2 id="pins">Pinned resources</h2>
        <ul class="plain pins" data-testid="pins">
          {a.pins.map((p) => {
            const now = current.get(p.resourceId);
            const differs = now && now.version !== p.version;
            return (
              <li key={p.resourceId} data-pin={p.resourceId} class={differs ? 'changed' : ''}>
                {now ? <ResourceLink node={now} /> : <span class="kind">{p.kind}</span>} pinned at version {p.version}
                {now ? (
                  differs ? (
                    <>
                      , now version {now.version} <span class="badge stale">changed</span>
                      <DiffView before={p.content} after={now.history[0]?.content ?? {}} />
                    </>
                  ) : (
                    <>, unchanged</>
                  )
                ) : (
                  <>
                    , <span class="badge status-marked_for_deletion">deleted since</span>
                  </>
                )}
              </li>
            );
          })}
        </ul>
      </section>
    </article>
  );
}
