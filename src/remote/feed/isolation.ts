import { DomainError } from '../../engine/errors.js';
import { MalformedChangeEventError, type FeedRuntime, type RemoteChangeEvent } from './events.js';
import { feedMetrics, type Transport } from './metrics.js';

/** What becomes of one delivered event. */
/** `outage`: the failure is not the event's (the operational store is down): the consumer backs off instead of moving on. */
export type Verdict = { kind: 'done' } | { kind: 'retry'; error: unknown; outage: boolean } | { kind: 'dead'; reason: string };

export interface Attempt {
  event: RemoteChangeEvent;
  /** How many times the broker has delivered it, this time included. */
  deliveries: number;
}

/** The event itself is at fault (it can never be applied), as opposed to a store or network outage. */
const eventsFault = (err: unknown) => err instanceof DomainError || err instanceof MalformedChangeEventError;

const reasonOf = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 2000);

function count(transport: Transport, events: RemoteChangeEvent[], result: unknown) {
  const ignored = typeof (result as { ignored?: unknown } | undefined)?.ignored === 'number' ? (result as { ignored: number }).ignored : 0;
  feedMetrics.applied.inc({ transport }, events.length - ignored);
  if (ignored) feedMetrics.ignored.inc({ transport }, ignored);
  const newest = events.reduce((max, e) => Math.max(max, e.position?.tsMs ?? 0), 0);
  if (newest) feedMetrics.lag.set({ transport }, Math.max(0, (Date.now() - newest) / 1000));
}

/**
 * Applies a batch in one call; when that fails, each event alone, so one bad event does not hold
 * up the others. An event that fails alone by its own fault is retried until it has been
 * delivered `maxDeliveries` times, then given up (the caller moves it to the dead letter). When
 * every event fails for another reason (the operational store is down), all are retried and none
 * is given up.
 */
export async function applyIsolated(rt: FeedRuntime, transport: Transport, attempts: Attempt[]): Promise<Verdict[]> {
  const events = attempts.map((a) => a.event);
  const outcomes: ({ ok: true } | { ok: false; err: unknown })[] = [];
  try {
    count(transport, events, await rt.apply(events));
    return attempts.map(() => ({ kind: 'done' }));
  } catch (err) {
    // One event alone has had its try.
    if (attempts.length === 1) outcomes.push({ ok: false, err });
    else rt.log.warn({ err, events: attempts.length }, 'applying a batch of change events failed; applying them one by one');
  }
  if (!outcomes.length) {
    for (const a of attempts) {
      try {
        count(transport, [a.event], await rt.apply([a.event]));
        outcomes.push({ ok: true });
      } catch (err) {
        outcomes.push({ ok: false, err });
      }
    }
  }
  const someApplied = outcomes.some((o) => o.ok);
  return outcomes.map((o, i): Verdict => {
    if (o.ok) return { kind: 'done' };
    const fault = eventsFault(o.err) || someApplied;
    if (fault && attempts[i].deliveries >= rt.maxDeliveries) return { kind: 'dead', reason: reasonOf(o.err) };
    return { kind: 'retry', error: o.err, outage: !fault };
  });
}

/** Logs and counts an event moved to the dead letter. */
export function reportDeadLetter(
  rt: FeedRuntime,
  transport: Transport,
  details: { eventId: string; reason: string; deliveries: number; deadLetter: string },
) {
  feedMetrics.deadLettered.inc({ transport });
  rt.log.error(details, 'change event moved to the dead letter');
}
