import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { ms, num, usd, when } from '../format.js';
import { navigate, onLinkClick } from '../router.js';
import type { List, RequestRow } from '../types.js';
import { Badge, ErrorLine, messageOf, Page } from '../ui.js';

const FILTERS = ['team', 'key', 'model', 'status', 'outcome'] as const;

/** The request log, newest first, with filters; a row opens the request's timeline. */
export function RequestsPage() {
  const [draft, setDraft] = useState<Record<string, string>>({});
  const [applied, setApplied] = useState<Record<string, string>>({});
  const [rows, setRows] = useState<RequestRow[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | undefined>(undefined);
  const [loading, setLoading] = useState(false);

  const load = async (after: string | null): Promise<void> => {
    setLoading(true);
    try {
      const q = new URLSearchParams({ limit: '50' });
      for (const [k, v] of Object.entries(applied)) if (v.trim()) q.set(k, k === 'from' || k === 'to' ? new Date(v).toISOString() : v.trim());
      if (after) q.set('cursor', after);
      const page = await api<List<RequestRow>>(`/requests?${q}`);
      setRows((prev) => (after ? [...prev, ...page.data] : page.data));
      setCursor(page.nextCursor ?? null);
      setError(undefined);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => void load(null), [applied]);

  const field = (name: string, label: string, type: 'text' | 'datetime-local' = 'text') => (
    <label key={name}>
      {label}
      {type === 'text' ? <input type="text" value={draft[name] ?? ''} onInput={(e) => setDraft({ ...draft, [name]: (e.currentTarget as HTMLInputElement).value })} /> : <input type="datetime-local" value={draft[name] ?? ''} onInput={(e) => setDraft({ ...draft, [name]: (e.currentTarget as HTMLInputElement).value })} />}
    </label>
  );
  return (
    <Page title="Requests">
      <form
        class="filters"
        aria-label="Filter requests"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied({ ...draft });
        }}
      >
        {FILTERS.map((f) => field(f, f))}
        {field('from', 'from', 'datetime-local')}
        {field('to', 'to', 'datetime-local')}
        <button type="submit">Apply</button>
        <button
          type="button"
          onClick={() => {
            setDraft({});
            setApplied({});
          }}
        >
          Clear
        </button>
      </form>
      <ErrorLine error={error} />
      <table class="clickable">
        <thead>
          <tr>
            <th scope="col">started</th>
            <th scope="col">request id</th>
            <th scope="col">team</th>
            <th scope="col">model</th>
            <th scope="col">deployment</th>
            <th scope="col" class="n">status</th>
            <th scope="col">outcome</th>
            <th scope="col" class="n">attempts</th>
            <th scope="col" class="n">duration</th>
            <th scope="col" class="n">TTFT</th>
            <th scope="col" class="n">tokens</th>
            <th scope="col" class="n">cost</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id} data-request-id={r.id} onClick={() => navigate(`/requests/${encodeURIComponent(r.id)}`)}>
              <td>{when(r.startedAt)}</td>
              <td>
                <a href={`/ui/requests/${encodeURIComponent(r.id)}`} onClick={(e) => onLinkClick(e, `/requests/${encodeURIComponent(r.id)}`)}>
                  <code title={r.id}>…{r.id.slice(-12)}</code>
                </a>
              </td>
              <td>{r.team ?? '–'}</td>
              <td>{r.model}</td>
              <td>{r.deployment ?? '–'}</td>
              <td class="n">{r.status}</td>
              <td>
                <Badge tone={r.outcome === 'success' ? 'good' : 'bad'}>{r.outcome}</Badge>
              </td>
              <td class="n">{r.attempts}</td>
              <td class="n">{ms(r.durationMs)}</td>
              <td class="n">{ms(r.ttftMs)}</td>
              <td class="n">{r.usage ? num(r.usage.promptTokens + r.usage.completionTokens) : '–'}</td>
              <td class="n">{usd(r.cost_usd)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && !loading && <p class="hint">No requests match (the log is written about once a second).</p>}
      {cursor && (
        <button type="button" disabled={loading} onClick={() => void load(cursor)}>
          Load more
        </button>
      )}
    </Page>
  );
}
