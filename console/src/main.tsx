import 'uplot/dist/uPlot.min.css';
import './style.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { accessOf, type Access } from './access.js';
import { api, clearCredential, credential, onUnauthorized, setCredential } from './api.js';
import { CALLBACK_PATH, finishOidc } from './oidc.js';
import { messageOf } from './ui.js';
import { navigate, onLinkClick, usePath } from './router.js';
import type { Me } from './types.js';
import { AuditPage } from './pages/audit.js';
import { DeploymentsPage } from './pages/deployments.js';
import { LivePage } from './pages/live.js';
import { RequestPage } from './pages/request.js';
import { RequestsPage } from './pages/requests.js';
import { SignIn } from './pages/signin.js';
import { SpendPage } from './pages/spend.js';
import { TeamsPage } from './pages/teams.js';

/** The pages, in menu order, and who sees each. */
const pages: ReadonlyArray<{ path: string; label: string; allowed: (a: Access) => boolean }> = [
  { path: '/live', label: 'Live', allowed: (a) => a.metrics },
  { path: '/deployments', label: 'Deployments', allowed: (a) => a.metrics },
  { path: '/teams', label: 'Teams and keys', allowed: (a) => a.teams },
  { path: '/spend', label: 'Spend', allowed: (a) => a.spend },
  { path: '/requests', label: 'Requests', allowed: (a) => a.spend },
  { path: '/audit', label: 'Audit', allowed: (a) => a.audit },
];

function App() {
  const path = usePath();
  const [me, setMe] = useState<Me | null | undefined>(credential() === null && location.pathname !== `/ui${CALLBACK_PATH}` ? null : undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);

  useEffect(() => {
    onUnauthorized(() => {
      setNotice('Signed out: the credential was refused (expired, revoked or wrong).');
      setMe(null);
    });
    if (location.pathname === `/ui${CALLBACK_PATH}`) {
      // Back from the identity provider: its access token becomes the credential.
      finishOidc()
        .then(async (token) => {
          setCredential(token);
          const who = await api<Me>('/me');
          navigate('/', true);
          setMe(who);
        })
        .catch((err: unknown) => {
          clearCredential();
          navigate('/', true);
          setNotice(`Sign-in failed: ${messageOf(err)}`);
          setMe(null);
        });
      return;
    }
    if (credential() !== null) {
      api<Me>('/me')
        .then(setMe)
        .catch(() => setMe(null));
    }
  }, []);

  if (me === undefined) return <p class="hint center">Loading…</p>;
  if (me === null) return <SignIn notice={notice} onSignedIn={(m) => (setNotice(undefined), setMe(m))} />;

  const access = accessOf(me);
  const visible = pages.filter((p) => p.allowed(access));
  const signOut = (): void => {
    clearCredential();
    setMe(null);
    navigate('/', true);
  };
  const current = visible.find((p) => path === p.path || path.startsWith(`${p.path}/`));
  let body;
  if (current === undefined) {
    const first = visible[0];
    if (first) queueMicrotask(() => navigate(first.path, true));
    body = first ? null : <p>This credential may not see any console page (a member key calls models only).</p>;
  } else if (current.path === '/live') body = <LivePage />;
  else if (current.path === '/deployments') body = <DeploymentsPage />;
  else if (current.path === '/teams') body = <TeamsPage access={access} />;
  else if (current.path === '/spend') body = <SpendPage />;
  else if (current.path === '/requests') body = path.startsWith('/requests/') ? <RequestPage id={decodeURIComponent(path.slice('/requests/'.length))} /> : <RequestsPage />;
  else body = <AuditPage />;

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">llm-gateway</span>
        <nav aria-label="Pages">
          {visible.map((p) => (
            <a key={p.path} href={`/ui${p.path}`} aria-current={current?.path === p.path ? 'page' : undefined} onClick={(e) => onLinkClick(e, p.path)}>
              {p.label}
            </a>
          ))}
        </nav>
        <span class="who" title={me.actorType}>
          {me.actor} · {me.role ?? me.teams.map((t) => `${t.role} of ${t.team}`).join(', ')}
        </span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main">{body}</main>
    </>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
