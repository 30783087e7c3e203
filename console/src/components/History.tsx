import { useState } from 'preact/hooks';
import { ApiError, gql } from '../api.js';
import { when } from '../format.js';
import { AS_OF, type Version } from '../queries.js';
import { ErrorBox } from './common.js';
import { DiffView } from './Diff.js';

/** The versions, newest first, each with what changed from the one before; and the resource as of an instant. */
export function History({ id, versions }: { id: string; versions: Version[] }) {
  const [at, setAt] = useState('');
  const [asOf, setAsOf] = useState<{ at: string; version: Version | null } | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const look = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const instant = new Date(at);
    if (Number.isNaN(instant.getTime())) return;
    try {
      const { resource } = await gql<{ resource: { asOf: Version | null } | null }>(AS_OF, { id, at: instant.toISOString() });
      setAsOf({ at: instant.toISOString(), version: resource?.asOf ?? null });
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(String(err), 'INTERNAL_SERVER_ERROR'));
    }
  };
  return (
    <section class="card" aria-labelledby="hist">
      <h2 id="hist">History</h2>
      <ol class="timeline" data-testid="history">
        {versions.map((v, i) => (
          <li key={v.version}>
            <div>
              <strong>version {v.version}</strong> <span class="muted">{when(v.validFrom)}</span>
              {v.changedBy && <span class="muted"> by {v.changedBy}</span>}
              {v.validTo === null && <span class="badge">current</span>}
            </div>
            {versions[i + 1] ? <DiffView before={versions[i + 1].content} after={v.content} /> : <p class="muted small">Created.</p>}
          </li>
        ))}
      </ol>
      <form class="asof" onSubmit={look}>
        <label>
          As of (your local time){' '}
          <input type="datetime-local" step="0.001" value={at} onInput={(e) => setAt((e.target as HTMLInputElement).value)} required />
        </label>{' '}
        <button type="submit">Show</button>
      </form>
      {error && <ErrorBox error={error} />}
      {asOf && (
        <div data-testid="asof">
          {asOf.version ? (
            <>
              <p>
                At {when(asOf.at)}: version {asOf.version.version} (from {when(asOf.version.validFrom)}).
              </p>
              <pre>{JSON.stringify(asOf.version.content, null, 2)}</pre>
            </>
          ) : (
            <p>It did not exist at {when(asOf.at)}.</p>
          )}
        </div>
      )}
    </section>
  );
}
