import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { getToken, onTokenChange, setToken } from './api.js';
import { ApprovalView } from './views/Approval.js';
import { KindView } from './views/Kind.js';
import { OverviewView } from './views/Overview.js';
import { ResourceView } from './views/Resource.js';
import { href, interceptLinks, parse, useLocation, headingRef } from './router.js';
import './styles.css';

/** The token for AUTH_MODE=jwt, kept for this tab only (sessionStorage); empty works with AUTH_MODE=none. */
function TokenField() {
  const [value, setValue] = useState(getToken());
  const [saved, setSaved] = useState(Boolean(getToken()));
  return (
    <form
      class="token"
      onSubmit={(e) => {
        e.preventDefault();
        setToken(value);
        setSaved(Boolean(value.trim()));
      }}
    >
      <label>
        Token{' '}
        <input
          type="password"
          name="token"
          autocomplete="off"
          placeholder={saved ? 'token set' : 'bearer token (jwt mode)'}
          value={value}
          onInput={(e) => setValue((e.target as HTMLInputElement).value)}
        />
      </label>
      <button type="submit">{value.trim() ? 'Use token' : 'No token'}</button>
    </form>
  );
}

function App() {
  const { pathname, search } = useLocation();
  const route = parse(pathname);
  const [tokenVersion, setTokenVersion] = useState(0);
  useEffect(() => onTokenChange(() => setTokenVersion((v) => v + 1)), []);
  useEffect(() => window.scrollTo(0, 0), [pathname]);
  const key = `${pathname}?${search.toString()}#${tokenVersion}`;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <a class="brand" href={href.overview()}>
          Integrity console
        </a>
        <TokenField />
      </header>
      <main id="main" key={key}>
        {route.view === 'overview' && <OverviewView />}
        {route.view === 'kind' && <KindView kind={route.kind} search={search} />}
        {route.view === 'resource' && <ResourceView id={route.id} />}
        {route.view === 'approval' && <ApprovalView id={route.id} />}
        {route.view === 'missing' && (
          <>
            <h1 tabIndex={-1} ref={headingRef}>
              No such page
            </h1>
            <p>
              <a href={href.overview()}>Go to the overview</a>
            </p>
          </>
        )}
      </main>
    </>
  );
}

const root = document.getElementById('app')!;
interceptLinks(root);
render(<App />, root);
