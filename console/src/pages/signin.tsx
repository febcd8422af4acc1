import { useEffect, useState } from 'preact/hooks';
import { api, clearCredential, setCredential } from '../api.js';
import { loadOidcSettings, startOidc, type OidcSettings } from '../oidc.js';
import type { Me } from '../types.js';
import { messageOf } from '../ui.js';

/**
 * Sign-in: paste an admin-API credential (the bootstrap key, or an API key with a role). It is
 * checked with GET /admin/v1/me and kept in this tab's sessionStorage only.
 */
export function SignIn(props: { onSignedIn: (me: Me) => void; notice?: string | undefined }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [oidc, setOidc] = useState<OidcSettings | null>(null);
  useEffect(() => {
    loadOidcSettings()
      .then(setOidc)
      .catch(() => setOidc(null));
  }, []);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setCredential(value.trim());
    try {
      const me = await api<Me>('/me');
      setValue('');
      props.onSignedIn(me);
    } catch (err) {
      clearCredential();
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <h1>llm-gateway console</h1>
      {props.notice && <p class="hint">{props.notice}</p>}
      {oidc && (
        <p>
          <button
            type="button"
            class="primary"
            onClick={() => {
              setError(undefined);
              startOidc(oidc).catch((err: unknown) => setError(messageOf(err)));
            }}
          >
            Sign in with {new URL(oidc.issuer).host}
          </button>
        </p>
      )}
      <form onSubmit={(e) => void submit(e)} aria-label="Sign in">
        <label>
          Admin API credential
          <input type="password" name="credential" autoComplete="off" required autoFocus value={value} onInput={(e) => setValue((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <p class="hint">The bootstrap key (admin.bootstrapKey), or an API key made in the admin API. It stays in this tab only and is sent to this gateway alone.</p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy || value.trim() === ''}>
          Sign in
        </button>
      </form>
    </main>
  );
}
