import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api.js';
import { href } from '../router.js';
import type { Node } from '../queries.js';
import { statusLabel } from '../format.js';

export interface Loaded<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` on mount and whenever `deps` change; `reload` runs it again. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: ApiError | null; loading: boolean }>({
    data: null,
    error: null,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (e: unknown) =>
        live &&
        setState({ data: null, error: e instanceof ApiError ? e : new ApiError(String(e), 'INTERNAL_SERVER_ERROR'), loading: false }),
    );
    return () => {
      live = false;
    };
    // `load` is a new closure each render: `deps` say when it means something else.
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

export function ErrorBox({ error }: { error: ApiError }) {
  const hint =
    error.code === 'UNAUTHENTICATED'
      ? 'This subgraph asks for a token: paste one in the Token field above.'
      : error.code === 'FORBIDDEN'
        ? 'Your token lacks the scope this needs.'
        : '';
  return (
    <div class="error" role="alert">
      <strong>{error.code}</strong>: {error.message}
      {hint && <p>{hint}</p>}
    </div>
  );
}

export function Loading() {
  return (
    <p class="muted" role="status">
      Loading…
    </p>
  );
}

export function Status({ status }: { status: string }) {
  return <span class={`badge status-${status.toLowerCase()}`}>{statusLabel(status)}</span>;
}

/** A resource as a link to its page: kind, natural key, status. */
export function ResourceLink({ node, showStatus = true }: { node: Node; showStatus?: boolean }) {
  return (
    <span class="rlink">
      <a href={href.resource(node.id)}>
        <span class="kind">{node.kind}</span> {node.naturalKey}
      </a>
      {showStatus && node.status === 'MARKED_FOR_DELETION' && (
        <>
          {' '}
          <Status status={node.status} />
        </>
      )}
    </span>
  );
}

/** Asks before an action: a modal <dialog> (Esc cancels, focus stays inside). */
export function Confirm(props: {
  label: string;
  /** What the button says to assistive technology, when its text is short ("Remove"). */
  ariaLabel?: string;
  title: string;
  children?: ComponentChildren;
  confirmLabel?: string;
  danger?: boolean;
  onConfirm: () => Promise<void>;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useRef(`dlg-${Math.random().toString(36).slice(2)}`).current;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const open = () => {
    setError(null);
    ref.current?.showModal();
  };
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await props.onConfirm();
      ref.current?.close();
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(String(e), 'INTERNAL_SERVER_ERROR'));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" class={props.danger ? 'danger' : ''} onClick={open} aria-label={props.ariaLabel}>
        {props.label}
      </button>
      <dialog ref={ref} aria-labelledby={titleId}>
        <h2 id={titleId}>{props.title}</h2>
        {props.children}
        {error && <ErrorBox error={error} />}
        <div class="actions">
          <button type="button" onClick={() => ref.current?.close()} disabled={busy}>
            Cancel
          </button>
          <button type="button" class={props.danger ? 'danger' : 'primary'} onClick={confirm} disabled={busy}>
            {busy ? 'Working…' : (props.confirmLabel ?? props.label)}
          </button>
        </div>
      </dialog>
    </>
  );
}
