import { useState } from 'preact/hooks';
import { mayWriteAnyKey, mayWriteKeys, type Access } from '../access.js';
import { api } from '../api.js';
import { day, num, usd, when } from '../format.js';
import type { Budget, Key, KeyWithSecret, Limits, List, Spend, Team } from '../types.js';
import { Badge, ErrorLine, messageOf, Page, useLoad } from '../ui.js';

/** Spend in each budget period, by team and by key, summed from the daily spend. */
interface PeriodSpend {
  daily: number;
  weekly: number;
  monthly: number;
}

/** Teams and keys: list, create, rotate, revoke; budgets and limits with their use so far. */
export function TeamsPage(props: { access: Access }) {
  const { access } = props;
  const teams = useLoad(() => api<List<Team>>('/teams?limit=1000'), []);
  const [showRevoked, setShowRevoked] = useState(false);
  const keys = useLoad(() => api<List<Key>>(`/keys?limit=1000${showRevoked ? '&revoked=true' : ''}`), [showRevoked]);
  const usage = useLoad(() => loadUsage(), []);
  const [secret, setSecret] = useState<{ id: string; key: string; verb: string } | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const refresh = (): void => {
    teams.reload();
    keys.reload();
  };

  return (
    <Page title="Teams and keys">
      <ErrorLine error={teams.error ?? keys.error ?? error} />
      {secret && (
        <div class="secret" role="alert">
          <p>
            <strong>
              Key {secret.id} {secret.verb}.
            </strong>{' '}
            Copy the secret now: it is shown only once.
          </p>
          <p>
            <label>
              Secret
              <input readOnly value={secret.key} data-secret size={60} onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
            </label>{' '}
            <button type="button" onClick={() => void navigator.clipboard?.writeText(secret.key)}>
              Copy
            </button>{' '}
            <button type="button" onClick={() => setSecret(undefined)}>
              Done
            </button>
          </p>
        </div>
      )}
      <h2>Teams</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">team</th>
            <th scope="col">source</th>
            <th scope="col">models</th>
            <th scope="col">limits</th>
            <th scope="col">budgets: spent / limit</th>
          </tr>
        </thead>
        <tbody>
          {(teams.data?.data ?? []).map((t) => (
            <tr key={t.name}>
              <th scope="row">{t.name}</th>
              <td>{t.source}</td>
              <td>{t.models.join(', ')}</td>
              <td>{limitsText(t.limits, t.concurrency)}</td>
              <td>
                <Budgets budgets={t.budgets} spent={usage.data?.teams.get(t.name)} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {access.createTeam && <CreateTeam onDone={refresh} onError={setError} />}

      <h2>Keys</h2>
      <label class="inline">
        <input type="checkbox" checked={showRevoked} onChange={(e) => setShowRevoked((e.currentTarget as HTMLInputElement).checked)} /> show revoked keys
      </label>
      <table>
        <thead>
          <tr>
            <th scope="col">key</th>
            <th scope="col">name</th>
            <th scope="col">team</th>
            <th scope="col">role</th>
            <th scope="col">prefix</th>
            <th scope="col">last used</th>
            <th scope="col">budgets: spent / limit</th>
            <th scope="col">status</th>
            <th scope="col">actions</th>
          </tr>
        </thead>
        <tbody>
          {(keys.data?.data ?? []).map((k) => (
            <KeyRow key={k.id} k={k} canWrite={k.source === 'api' && !k.revokedAt && mayWriteKeys(access, k.team)} spent={usage.data?.keys.get(k.id)} onSecret={setSecret} onDone={refresh} onError={setError} />
          ))}
        </tbody>
      </table>
      {mayWriteAnyKey(access) && <CreateKey access={access} teams={(teams.data?.data ?? []).map((t) => t.name)} onSecret={setSecret} onDone={refresh} onError={setError} />}
    </Page>
  );
}

function KeyRow(props: { k: Key; canWrite: boolean; spent: PeriodSpend | undefined; onSecret: (s: { id: string; key: string; verb: string }) => void; onDone: () => void; onError: (e: string | undefined) => void }) {
  const { k } = props;
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const act = async (run: () => Promise<void>): Promise<void> => {
    setBusy(true);
    try {
      await run();
      props.onError(undefined);
      props.onDone();
    } catch (err) {
      props.onError(messageOf(err));
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };
  const revoke = (): Promise<void> => act(async () => void (await api<Key>(`/keys/${encodeURIComponent(k.id)}`, 'DELETE')));
  const rotate = (): Promise<void> =>
    act(async () => {
      const rotated = await api<KeyWithSecret>(`/keys/${encodeURIComponent(k.id)}/rotate`, 'POST', {});
      props.onSecret({ id: rotated.id, key: rotated.key, verb: 'rotated (the old secret works for the grace period)' });
    });
  const label = k.name ?? k.id;
  return (
    <tr data-key-id={k.id}>
      <th scope="row">
        <code>{k.id}</code>
      </th>
      <td class="name">{k.name ?? '–'}</td>
      <td>{k.team}</td>
      <td>{k.role}</td>
      <td>
        <code>{k.prefix ?? '–'}</code>
      </td>
      <td>{when(k.lastUsedAt)}</td>
      <td>
        <Budgets budgets={k.budgets} spent={props.spent} />
      </td>
      <td>{k.revokedAt ? <Badge tone="bad">revoked {when(k.revokedAt)}</Badge> : k.expiresAt ? <Badge tone="info">expires {when(k.expiresAt)}</Badge> : <Badge tone="good">active</Badge>}</td>
      <td class="actions">
        {props.canWrite &&
          (confirming ? (
            <>
              <button type="button" class="danger" disabled={busy} onClick={() => void revoke()} aria-label={`Confirm revoking ${label}`}>
                Confirm revoke
              </button>{' '}
              <button type="button" onClick={() => setConfirming(false)}>
                Cancel
              </button>
            </>
          ) : (
            <>
              <button type="button" disabled={busy} onClick={() => void rotate()} aria-label={`Rotate ${label}`}>
                Rotate
              </button>{' '}
              <button type="button" class="danger" disabled={busy} onClick={() => setConfirming(true)} aria-label={`Revoke ${label}`}>
                Revoke
              </button>
            </>
          ))}
      </td>
    </tr>
  );
}

/** A create form's submit: on success the error shown is cleared and the list reloaded; on failure the error is shown. */
async function submitCreate(e: Event, props: { onDone: () => void; onError: (e: string | undefined) => void }, create: () => Promise<void>): Promise<void> {
  e.preventDefault();
  try {
    await create();
    props.onError(undefined);
    props.onDone();
  } catch (err) {
    props.onError(messageOf(err));
  }
}

function CreateTeam(props: { onDone: () => void; onError: (e: string | undefined) => void }) {
  const [name, setName] = useState('');
  const [models, setModels] = useState('*');
  const [monthly, setMonthly] = useState('');
  const [rps, setRps] = useState('');
  const submit = (e: Event): Promise<void> =>
    submitCreate(e, props, async () => {
      const body: Record<string, unknown> = { name: name.trim(), models: splitList(models) };
      if (monthly.trim()) body.budgets = [{ period: 'monthly', limitUsd: monthly.trim() }];
      if (rps.trim()) body.limits = { requests: { capacity: Math.max(1, Math.ceil(Number(rps))), refillPerSecond: Number(rps) } };
      await api<Team>('/teams', 'POST', body);
      setName('');
    });
  return (
    <form class="card form" onSubmit={(e) => void submit(e)} aria-label="Create a team">
      <h3>Create a team</h3>
      <label>
        Name
        <input required value={name} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} maxLength={128} />
      </label>
      <label>
        Models (comma-separated, * for all)
        <input value={models} onInput={(e) => setModels((e.currentTarget as HTMLInputElement).value)} />
      </label>
      <label>
        Monthly budget, $ (optional)
        <input value={monthly} inputMode="decimal" onInput={(e) => setMonthly((e.currentTarget as HTMLInputElement).value)} />
      </label>
      <label>
        Requests/s limit (optional)
        <input value={rps} inputMode="decimal" onInput={(e) => setRps((e.currentTarget as HTMLInputElement).value)} />
      </label>
      <button type="submit">Create team</button>
    </form>
  );
}

function CreateKey(props: { access: Access; teams: string[]; onSecret: (s: { id: string; key: string; verb: string }) => void; onDone: () => void; onError: (e: string | undefined) => void }) {
  const writable = props.teams.filter((t) => mayWriteKeys(props.access, t));
  const [team, setTeam] = useState('');
  const [name, setName] = useState('');
  const [role, setRole] = useState('member');
  const [monthly, setMonthly] = useState('');
  const chosen = team || writable[0] || '';
  const submit = (e: Event): Promise<void> =>
    submitCreate(e, props, async () => {
      const body: Record<string, unknown> = { team: chosen, role };
      if (name.trim()) body.name = name.trim();
      if (monthly.trim()) body.budgets = [{ period: 'monthly', limitUsd: monthly.trim() }];
      const made = await api<KeyWithSecret>('/keys', 'POST', body);
      props.onSecret({ id: made.id, key: made.key, verb: 'created' });
      setName('');
    });
  return (
    <form class="card form" onSubmit={(e) => void submit(e)} aria-label="Create a key">
      <h3>Create a key</h3>
      <div class="field">
        <label for="new-key-team">Team</label>
        <select id="new-key-team" value={chosen} onChange={(e) => setTeam((e.currentTarget as HTMLSelectElement).value)}>
          {writable.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </div>
      <label>
        Name
        <input value={name} maxLength={128} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />
      </label>
      <div class="field">
        <label for="new-key-role">Role</label>
        <select id="new-key-role" value={role} onChange={(e) => setRole((e.currentTarget as HTMLSelectElement).value)}>
          <option value="member">member (calls models)</option>
          <option value="viewer">viewer (reads the team)</option>
          <option value="team_admin">team_admin (manages keys)</option>
        </select>
      </div>
      <label>
        Monthly budget, $ (optional)
        <input value={monthly} inputMode="decimal" onInput={(e) => setMonthly((e.currentTarget as HTMLInputElement).value)} />
      </label>
      <button type="submit" disabled={chosen === ''}>
        Create key
      </button>
    </form>
  );
}

function Budgets(props: { budgets: Budget[] | null; spent: PeriodSpend | undefined }) {
  if (!props.budgets || props.budgets.length === 0) return <span class="hint">none</span>;
  return (
    <ul class="plain">
      {props.budgets.map((b) => {
        const spent = b.period === 'lifetime' ? undefined : (props.spent?.[b.period] ?? 0);
        const limit = b.limit_usd === null ? undefined : Number(b.limit_usd);
        const share = spent !== undefined && limit ? Math.min(1, spent / limit) : undefined;
        return (
          <li key={b.period}>
            {b.period}: {spent === undefined ? 'n/a' : usd(spent)} / {b.limit_usd === null ? '∞' : usd(b.limit_usd)}
            {b.soft_limit_usd !== null && <span class="hint"> (alert at {usd(b.soft_limit_usd)})</span>}
            {share !== undefined && <meter min={0} max={1} low={0.8} high={0.95} optimum={0} value={share} aria-label={`${b.period} budget used: ${Math.round(share * 100)}%`} />}
          </li>
        );
      })}
    </ul>
  );
}

function limitsText(limits: Limits | null, concurrency: { maxInFlight: number } | null): string {
  const parts: string[] = [];
  if (limits?.requests) parts.push(`${num(limits.requests.refillPerSecond)} req/s (burst ${num(limits.requests.capacity)})`);
  if (limits?.tokens) parts.push(`${num(limits.tokens.refillPerSecond)} tok/s (burst ${num(limits.tokens.capacity)})`);
  if (concurrency) parts.push(`${concurrency.maxInFlight} in flight`);
  return parts.length ? parts.join(', ') : 'none';
}

function splitList(s: string): string[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

/** This month's and this week's spend (UTC), by team and by key, from GET /spend. */
async function loadUsage(): Promise<{ teams: Map<string, PeriodSpend>; keys: Map<string, PeriodSpend> }> {
  const now = new Date();
  const today = day(now);
  const monthStart = `${today.slice(0, 8)}01`;
  const weekStart = day(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - ((now.getUTCDay() + 6) % 7))));
  const from = weekStart < monthStart ? weekStart : monthStart;
  const spend = await api<Spend>(`/spend?from=${from}&group_by=team,key,day`);
  const teams = new Map<string, PeriodSpend>();
  const keys = new Map<string, PeriodSpend>();
  const add = (map: Map<string, PeriodSpend>, id: string | null | undefined, d: string, cost: number): void => {
    if (!id) return;
    const p = map.get(id) ?? { daily: 0, weekly: 0, monthly: 0 };
    if (d === today) p.daily += cost;
    if (d >= weekStart) p.weekly += cost;
    if (d >= monthStart) p.monthly += cost;
    map.set(id, p);
  };
  for (const row of spend.data) {
    const cost = Number(row.cost_usd);
    add(teams, row.team, row.day ?? '', cost);
    add(keys, row.keyId, row.day ?? '', cost);
  }
  return { teams, keys };
}
