import { useState } from 'preact/hooks';
import { gql } from '../api.js';
import { ErrorBox, Loading, Status, useLoad } from '../components/common.js';
import { when } from '../format.js';
import { BROWSE, type Node } from '../queries.js';
import { cameFromConsole, href, navigate, headingRef } from '../router.js';

interface Row extends Node {
  version: number;
  updatedAt: string;
  deleteAfter: string | null;
}

const PAGE = 25;

/** One kind as a table: search by natural key, status filter, pages of 25 (all three in the link). */
export function KindView({ kind, search }: { kind: string; search: URLSearchParams }) {
  const q = search.get('q') ?? '';
  const status = search.get('status') ?? '';
  const after = search.get('after') ?? '';
  const [text, setText] = useState(q);
  const loaded = useLoad(
    () => gql<{ resources: Row[] }>(BROWSE, { kind, search: q || null, status: status || null, first: PAGE + 1, after: after || null }),
    [kind, q, status, after],
  );
  const go = (next: Record<string, string>) => navigate(href.kind(kind, { q, status, ...next }));
  const rows = loaded.data?.resources ?? [];
  const more = rows.length > PAGE;
  return (
    <>
      <nav class="crumbs" aria-label="Breadcrumbs">
        <a href={href.overview()}>Overview</a> › {kind}
      </nav>
      <h1 tabIndex={-1} ref={headingRef}>
        {kind}
      </h1>
      {/* biome-ignore lint/a11y/useSemanticElements: <search> is too new for the browsers an admin may use; the role says the same */}
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          go({ q: text, after: '' });
        }}
      >
        <label>
          Natural key contains{' '}
          <input
            type="search"
            name="q"
            value={text}
            placeholder="e.g. retail/storefront"
            onInput={(e) => setText((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Status{' '}
          <select name="status" value={status} onChange={(e) => go({ status: (e.target as HTMLSelectElement).value, after: '' })}>
            <option value="">any</option>
            <option value="ACTIVE">active</option>
            <option value="MARKED_FOR_DELETION">marked for deletion</option>
          </select>
        </label>
        <button type="submit">Search</button>
      </form>
      {loaded.error ? (
        <ErrorBox error={loaded.error} />
      ) : loaded.loading && !loaded.data ? (
        <Loading />
      ) : (
        <>
          <div class="scroll">
            <table data-testid="kind-table">
              <thead>
                <tr>
                  <th scope="col">Natural key</th>
                  <th scope="col">Status</th>
                  <th scope="col">Version</th>
                  <th scope="col">Updated</th>
                  <th scope="col">Delete after</th>
                </tr>
              </thead>
              <tbody>
                {rows.slice(0, PAGE).map((r) => (
                  <tr key={r.id}>
                    <th scope="row">
                      <a href={href.resource(r.id)}>{r.naturalKey}</a>
                    </th>
                    <td>
                      <Status status={r.status} />
                    </td>
                    <td>{r.version}</td>
                    <td>{when(r.updatedAt)}</td>
                    <td>{when(r.deleteAfter)}</td>
                  </tr>
                ))}
                {rows.length === 0 && (
                  <tr>
                    <td colSpan={5} class="muted">
                      No {kind} matches.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
          <div class="pager">
            {after && cameFromConsole() && (
              <button type="button" onClick={() => history.back()}>
                ← Previous
              </button>
            )}
            {after && <a href={href.kind(kind, { q, status })}>First page</a>}
            {more && (
              <button type="button" onClick={() => go({ after: rows[PAGE - 1].id })}>
                Next →
              </button>
            )}
          </div>
        </>
      )}
    </>
  );
}
