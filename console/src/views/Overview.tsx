import { gql, mayUse } from '../api.js';
import { ErrorBox, Loading, ResourceLink, useLoad } from '../components/common.js';
import { GcPanel } from '../components/Gc.js';
import { queue, type QueueEntry } from '../explain.js';
import { relative, when } from '../format.js';
import { OVERVIEW } from '../queries.js';
import { href, headingRef } from '../router.js';

interface OverviewData {
  kinds: string[];
  resourceCounts: { kind: string; status: string; count: number }[];
  remoteCache: { entityType: string; fresh: number; deleted: number; missing: number; failing: number; oldestFetchedAt: string | null }[];
  sources: { name: string; breaker: string | null }[];
  changeFeed: { transport: string; lagSeconds: number | null; deadLettered: number; applied: number }[];
  leases: { name: string; holder: string | null; since: string | null }[];
  maintenanceRuns: { job: string; outcome: string; count: number }[];
}

async function load(): Promise<{ o: OverviewData; q: QueueEntry[] }> {
  const [{ integrityOverview: o }, q] = await Promise.all([gql<{ integrityOverview: OverviewData }>(OVERVIEW), queue()]);
  return { o, q };
}

const REASON_WORDS: Record<string, string> = {
  RETENTION: 'retention',
  REFERENCED: 'referenced',
  ANCESTOR_REFERENCED: 'ancestor referenced',
  PINNED: 'pinned',
  DESCENDANT_HELD: 'descendant held',
};

export function OverviewView() {
  const loaded = useLoad(load, []);
  if (loaded.loading && !loaded.data) return <Loading />;
  if (loaded.error) return <ErrorBox error={loaded.error} />;
  const { o, q } = loaded.data!;
  const count = (kind: string, status: string) => o.resourceCounts.find((c) => c.kind === kind && c.status === status)?.count ?? 0;
  const total = o.resourceCounts.reduce((n, c) => n + c.count, 0);
  const marked = o.resourceCounts.filter((c) => c.status === 'MARKED_FOR_DELETION').reduce((n, c) => n + c.count, 0);
  const collectable = q.filter((e) => e.explanation.collectable).length;
  return (
    <>
      <h1 tabIndex={-1} ref={headingRef}>
        Overview
      </h1>
      <div class="tiles">
        <div class="tile">
          <span class="num" data-testid="total">
            {total}
          </span>{' '}
          resources
        </div>
        <div class="tile">
          <span class="num" data-testid="marked">
            {marked}
          </span>{' '}
          marked for deletion
        </div>
        <div class="tile">
          <span class="num" data-testid="collectable">
            {collectable}
          </span>{' '}
          collectable now
          {marked > q.length && <span class="muted small"> (of the {q.length} marked longest)</span>}
        </div>
      </div>
      <div class="grid2">
        <section class="card" aria-labelledby="kinds">
          <h2 id="kinds">Resources per kind</h2>
          <table data-testid="kind-counts">
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">Active</th>
                <th scope="col">Marked</th>
              </tr>
            </thead>
            <tbody>
              {o.kinds.map((k) => (
                <tr key={k} data-kind={k}>
                  <th scope="row">
                    <a href={href.kind(k)}>{k}</a>
                  </th>
                  <td>{count(k, 'ACTIVE')}</td>
                  <td>
                    {count(k, 'MARKED_FOR_DELETION') ? (
                      <a href={href.kind(k, { status: 'MARKED_FOR_DELETION' })}>{count(k, 'MARKED_FOR_DELETION')}</a>
                    ) : (
                      0
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section class="card" aria-labelledby="queue">
          <h2 id="queue">Marked for deletion</h2>
          {q.length === 0 ? (
            <p class="muted">Nothing is marked.</p>
          ) : (
            <ul class="plain" data-testid="queue">
              {q.map((e) => (
                <li key={e.resource.id}>
                  <ResourceLink node={e.resource} showStatus={false} />{' '}
                  {e.explanation.collectable ? (
                    <span class="badge ok">collectable</span>
                  ) : (
                    <span class="muted small">
                      held: {[...new Set(e.explanation.blockers.map((b) => REASON_WORDS[b.reason] ?? b.reason))].join(', ')}
                    </span>
                  )}
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
      <div class="grid2">
        <section class="card" aria-labelledby="cache">
          <h2 id="cache">Remote cache</h2>
          {o.remoteCache.length === 0 ? (
            <p class="muted">No remote references cached.</p>
          ) : (
            <div class="scroll">
              <table data-testid="remote-cache">
                <thead>
                  <tr>
                    <th scope="col">Type</th>
                    <th scope="col">Fresh</th>
                    <th scope="col">Deleted</th>
                    <th scope="col">Missing</th>
                    <th scope="col">Failing</th>
                    <th scope="col">Oldest check</th>
                  </tr>
                </thead>
                <tbody>
                  {o.remoteCache.map((c) => (
                    <tr key={c.entityType} data-type={c.entityType}>
                      <th scope="row">{c.entityType}</th>
                      <td class="remote-fresh">{c.fresh}</td>
                      <td class={c.deleted ? 'remote-deleted' : ''}>{c.deleted}</td>
                      <td class={c.missing ? 'remote-missing' : ''}>{c.missing}</td>
                      <td class={c.failing ? 'remote-missing' : ''} data-testid={`failing-${c.entityType}`}>
                        {c.failing}
                      </td>
                      <td>
                        <time dateTime={c.oldestFetchedAt ?? ''} title={when(c.oldestFetchedAt)}>
                          {relative(c.oldestFetchedAt) || '—'}
                        </time>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <h3>Sources</h3>
          <ul class="plain" data-testid="sources">
            {o.sources.map((s) => (
              <li key={s.name} data-source={s.name}>
                {s.name}: <span class={`badge breaker-${s.breaker ?? 'none'}`}>{s.breaker ? `breaker ${s.breaker}` : 'no breaker'}</span>
              </li>
            ))}
          </ul>
          <h3>Change feed</h3>
          {o.changeFeed.length === 0 ? (
            <p class="muted">No change feed events on this replica (CHANGE_FEED_URL unset, or nothing received yet).</p>
          ) : (
            <ul class="plain">
              {o.changeFeed.map((f) => (
                <li key={f.transport}>
                  {f.transport}: lag {f.lagSeconds === null ? '—' : `${f.lagSeconds.toFixed(1)} s`}, {f.applied} applied,{' '}
                  <span class={f.deadLettered ? 'remote-missing' : ''}>{f.deadLettered} dead-lettered</span>
                </li>
              ))}
            </ul>
          )}
        </section>
        <section class="card" aria-labelledby="maint">
          <h2 id="maint">Maintenance</h2>
          <ul class="plain">
            {o.leases.length === 0 && <li class="muted">No maintenance has run yet.</li>}
            {o.leases.map((l) => (
              <li key={l.name}>
                lease <code>{l.name}</code>: {l.holder ? `held by ${l.holder} since ${when(l.since)}` : 'free'}
              </li>
            ))}
          </ul>
          {o.maintenanceRuns.length > 0 && (
            <table>
              <thead>
                <tr>
                  <th scope="col">Job (this replica)</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Runs</th>
                </tr>
              </thead>
              <tbody>
                {o.maintenanceRuns.map((m) => (
                  <tr key={`${m.job}:${m.outcome}`}>
                    <td>{m.job}</td>
                    <td>{m.outcome}</td>
                    <td>{m.count}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
      {mayUse('integrity:admin') && <GcPanel onDone={loaded.reload} />}
    </>
  );
}
