import { useEffect, useState } from 'preact/hooks';

/**
 * Routes of the console: each view has a link one can share. History API navigation; links are
 * plain <a href> (keyboard, middle-click and copy work), intercepted for same-origin /console paths.
 */

export const BASE = '/console';

export type Route =
  | { view: 'overview' }
  | { view: 'kind'; kind: string }
  | { view: 'resource'; id: string }
  | { view: 'approval'; id: string }
  | { view: 'missing'; path: string };

export function parse(pathname: string): Route {
  const rest = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  const parts = rest.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { view: 'overview' };
  if (parts.length === 2 && parts[0] === 'kinds') return { view: 'kind', kind: parts[1] };
  if (parts.length === 2 && parts[0] === 'resources') return { view: 'resource', id: parts[1] };
  if (parts.length === 2 && parts[0] === 'approvals') return { view: 'approval', id: parts[1] };
  return { view: 'missing', path: pathname };
}

export const href = {
  overview: () => BASE,
  kind: (kind: string, query?: Record<string, string>) => {
    const q = query ? new URLSearchParams(Object.entries(query).filter(([, v]) => v)).toString() : '';
    return `${BASE}/kinds/${encodeURIComponent(kind)}${q ? `?${q}` : ''}`;
  },
  resource: (id: string) => `${BASE}/resources/${encodeURIComponent(id)}`,
  approval: (id: string) => `${BASE}/approvals/${encodeURIComponent(id)}`,
};

const listeners = new Set<() => void>();
let focusHeading = false;

/** Entries the console pushed carry this state: "Previous" may go back to them. */
export const cameFromConsole = (): boolean => (history.state as { console?: boolean } | null)?.console === true;

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState({ console: true }, '', to);
  else history.pushState({ console: true }, '', to);
  focusHeading = true;
  for (const l of listeners) l();
}

/** After in-app navigation the new page's heading takes focus once it renders (Tab continues from there). */
export function headingRef(el: HTMLHeadingElement | null): void {
  if (el && focusHeading) {
    focusHeading = false;
    el.focus({ preventScroll: true });
  }
}

/** The current location (path and search), re-rendering on navigation. */
export function useLocation(): { pathname: string; search: URLSearchParams } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const update = () => {
      focusHeading = true;
      setTick((t) => t + 1);
    };
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return { pathname: location.pathname, search: new URLSearchParams(location.search) };
}

/** Same-origin /console links navigate in place; modified clicks keep the browser's meaning. */
export function interceptLinks(root: HTMLElement): void {
  root.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element).closest('a');
    if (!a) return;
    const raw = a.getAttribute('href') ?? a.getAttribute('xlink:href');
    if (!raw || a.getAttribute('target')) return;
    const url = new URL(raw, location.href);
    if (url.origin !== location.origin || !url.pathname.startsWith(BASE)) return;
    e.preventDefault();
    navigate(url.pathname + url.search);
  });
}
