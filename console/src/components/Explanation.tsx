import type { Blocker, Explanation } from '../queries.js';
import { href } from '../router.js';
import { relative, when } from '../format.js';
import { ResourceLink } from './common.js';

function Reason({ b }: { b: Blocker }) {
  switch (b.reason) {
    case 'NOT_MARKED':
      return <>Not marked for deletion: the reasons below are what would hold it if it were marked now.</>;
    case 'RETENTION':
      return (
        <>
          Retention runs until <time dateTime={b.until ?? ''}>{when(b.until)}</time> ({relative(b.until)}).
        </>
      );
    case 'REFERENCED':
      return (
        <>
          Referenced by {b.from ? <ResourceLink node={b.from} /> : 'a resource you cannot read'} at <code>{b.path}</code>.
        </>
      );
    case 'ANCESTOR_REFERENCED':
      return (
        <>
          Its ancestor {b.ancestor ? <ResourceLink node={b.ancestor} /> : '?'} is referenced by{' '}
          {b.from ? <ResourceLink node={b.from} /> : 'a resource you cannot read'} at <code>{b.path}</code>.
        </>
      );
    case 'PINNED':
      return (
        <>
          Pinned by the approval in force <a href={href.approval(b.approval?.id ?? '')}>{b.approval?.id}</a>
          {b.approval?.resource && (
            <>
              {' '}
              of <ResourceLink node={b.approval.resource} />
            </>
          )}
          .
        </>
      );
    case 'DESCENDANT_HELD':
      return <>Its marked descendant {b.descendant ? <ResourceLink node={b.descendant} /> : '?'} is itself held (its page says why).</>;
  }
}

const LABEL: Record<Blocker['reason'], string> = {
  NOT_MARKED: 'preview',
  RETENTION: 'retention',
  REFERENCED: 'referrer',
  ANCESTOR_REFERENCED: 'ancestor referrer',
  PINNED: 'approval',
  DESCENDANT_HELD: 'descendant held',
};

/** Why a resource is not collected yet: every reason, typed, with a link to each referrer. */
export function ExplanationView({ explanation, marked }: { explanation: Explanation; marked: boolean }) {
  const { blockers } = explanation;
  return (
    <section aria-labelledby="why" class="card explanation">
      <h2 id="why">{marked ? 'Why it is not deleted yet' : 'What would stop its deletion'}</h2>
      {explanation.collectable ? (
        <p class="ok" data-testid="collectable">
          Nothing holds it: the next garbage collection deletes it.
        </p>
      ) : blockers.length === 0 ? (
        <p class="ok">Nothing would hold it.</p>
      ) : (
        <ul class="blockers" data-testid="blockers">
          {blockers.map((b, i) => (
            <li key={i} data-reason={b.reason}>
              <span class={`tag reason-${b.reason.toLowerCase()}`}>{LABEL[b.reason]}</span> <Reason b={b} />
            </li>
          ))}
        </ul>
      )}
      {explanation.leaseHolder && (
        <p class="muted">
          A maintenance run holds the lease now: {explanation.leaseHolder} since {when(explanation.leaseSince)}.
        </p>
      )}
    </section>
  );
}
