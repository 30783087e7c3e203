import { diff, show } from '../diff.js';

/** The differences from `before` to `after`, one line per path. */
export function DiffView({ before, after, empty = 'No difference.' }: { before: unknown; after: unknown; empty?: string }) {
  const changes = diff(before, after);
  if (!changes.length) return <p class="muted small">{empty}</p>;
  return (
    <ul class="diff" data-testid="diff">
      {changes.map((c) => (
        <li key={c.path} class={`d-${c.kind}`}>
          <code>{c.path}</code>{' '}
          {c.kind === 'added' ? (
            <ins>{show(c.after)}</ins>
          ) : c.kind === 'removed' ? (
            <del>{show(c.before)}</del>
          ) : (
            <>
              <del>{show(c.before)}</del> → <ins>{show(c.after)}</ins>
            </>
          )}
        </li>
      ))}
    </ul>
  );
}
