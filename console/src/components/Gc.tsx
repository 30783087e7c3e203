import { useState } from 'preact/hooks';
import { ApiError, gql } from '../api.js';
import { currentOf, GC, type Explanation, type Node } from '../queries.js';
import { Confirm, ErrorBox, ResourceLink } from './common.js';
import { ExplanationView } from './Explanation.js';

interface Report {
  dryRun: boolean;
  deleted: string[];
  archived: number;
  orphanRemoteRefsDeleted: number;
  blocked: { resource: Node; explanation: Explanation }[];
  /** What the deleted ids were (read before a real run, or while they still exist in a dry run). */
  names: Map<string, Node>;
}

async function run(dryRun: boolean, known: Map<string, Node>): Promise<Report> {
  type Raw = Omit<Report, 'names'>;
  const raw = (await gql<{ collectGarbage: Raw }>(GC, { dryRun })).collectGarbage;
  const names = new Map(known);
  const unknown = raw.deleted.filter((id) => !names.has(id)).slice(0, 200);
  if (dryRun && unknown.length) {
    const { query, variables } = currentOf(unknown);
    const found = await gql<Record<string, Node | null>>(query, variables);
    for (const n of Object.values(found)) if (n) names.set(n.id, n);
  }
  return { ...raw, names };
}

function ReportView({ report }: { report: Report }) {
  return (
    <div class="report" data-testid={report.dryRun ? 'gc-dry-run' : 'gc-run'}>
      <h3>{report.dryRun ? 'Dry run: what the collection would do' : 'Collection done'}</h3>
      <p>
        {report.dryRun ? 'Would delete' : 'Deleted'} <strong data-testid="gc-deleted-count">{report.deleted.length}</strong>,{' '}
        {report.blocked.length} stay
        {report.orphanRemoteRefsDeleted ? `, ${report.orphanRemoteRefsDeleted} unused remote references dropped` : ''}.
      </p>
      {report.deleted.length > 0 && (
        <>
          <h4>{report.dryRun ? 'Goes' : 'Gone'}</h4>
          <ul class="plain" data-testid="gc-goes">
            {report.deleted.map((id) => {
              const n = report.names.get(id);
              return (
                <li key={id}>
                  {n ? (
                    report.dryRun ? (
                      <ResourceLink node={n} showStatus={false} />
                    ) : (
                      <span>
                        <span class="kind">{n.kind}</span> {n.naturalKey}
                      </span>
                    )
                  ) : (
                    <code>{id}</code>
                  )}
                </li>
              );
            })}
          </ul>
        </>
      )}
      {report.blocked.length > 0 && (
        <>
          <h4>Stays, and why</h4>
          <ul class="plain stays" data-testid="gc-stays">
            {report.blocked.map((b) => (
              <li key={b.resource.id}>
                <ResourceLink node={b.resource} showStatus={false} />
                <ExplanationView explanation={b.explanation} marked />
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

/** Garbage collection from the console: a dry run first, then a real run after confirmation. */
export function GcPanel({ onDone }: { onDone: () => void }) {
  const [report, setReport] = useState<Report | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const dry = async () => {
    setBusy(true);
    setError(null);
    try {
      setReport(await run(true, new Map()));
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(String(e), 'INTERNAL_SERVER_ERROR'));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-labelledby="gc">
      <h2 id="gc">Garbage collection</h2>
      <div class="actions">
        <button type="button" onClick={dry} disabled={busy}>
          {busy ? 'Working…' : 'Dry run'}
        </button>
        <Confirm
          label="Run collection"
          title="Run garbage collection now?"
          danger
          onConfirm={async () => {
            setReport(await run(false, report?.names ?? new Map()));
            onDone();
          }}
        >
          <p>Hard-deletes every marked resource that nothing holds (see the dry run for which). This cannot be undone.</p>
        </Confirm>
      </div>
      {error && <ErrorBox error={error} />}
      {report && <ReportView report={report} />}
    </section>
  );
}
