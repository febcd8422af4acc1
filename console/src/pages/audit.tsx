import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { when } from '../format.js';
import type { AuditEntry, List, Verify } from '../types.js';
import { Badge, ErrorLine, Page, useLoad } from '../ui.js';

const PAGE = 50;

/** The audit log, newest first, paginated, with the hash chain's verification. */
const FILTERS = ['action', 'actor', 'targetType', 'targetId'] as const;

export function AuditPage() {
  const [cursors, setCursors] = useState<string[]>([]);
  const [draft, setDraft] = useState<Record<string, string>>({});
  const [filters, setFilters] = useState<Record<string, string>>({});
  const cursor = cursors.at(-1);
  const query = new URLSearchParams({ limit: String(PAGE) });
  for (const [k, v] of Object.entries(filters)) if (v.trim()) query.set(k, v.trim());
  if (cursor) query.set('cursor', cursor);
  const list = useLoad(() => api<List<AuditEntry>>(`/audit?${query}`), [query.toString()]);
  const verify = useLoad(() => api<Verify>('/audit/verify'), []);
  const v = verify.data;
  return (
    <Page
      title="Audit log"
      actions={
        <button type="button" onClick={verify.reload} disabled={verify.loading}>
          Verify again
        </button>
      }
    >
      <div class="card" role="status" aria-live="polite" data-verify>
        {verify.loading && !v ? (
          'Verifying the hash chain…'
        ) : v?.ok ? (
          <>
            <Badge tone="good">chain intact</Badge> {v.entries} entries verified{v.head ? `; head ${v.head.seq}:${v.head.hash.slice(0, 16)}… (keep it elsewhere to check later)` : ''}
          </>
        ) : v ? (
          <>
            <Badge tone="bad">chain broken</Badge> at entry {v.firstBad?.seq}: {v.firstBad?.problem} ({v.firstBad?.reason}); {v.entries} entries sound before it
          </>
        ) : null}
      </div>
      <form
        class="filters"
        aria-label="Filter audit entries"
        onSubmit={(e) => {
          e.preventDefault();
          setCursors([]);
          setFilters({ ...draft });
        }}
      >
        {FILTERS.map((f) => (
          <label key={f}>
            {f}
            <input type="text" value={draft[f] ?? ''} placeholder={f === 'action' ? 'key.revoked' : ''} onInput={(e) => setDraft({ ...draft, [f]: (e.currentTarget as HTMLInputElement).value })} />
          </label>
        ))}
        <button type="submit">Apply</button>
        <button
          type="button"
          onClick={() => {
            setDraft({});
            setCursors([]);
            setFilters({});
          }}
        >
          Clear
        </button>
      </form>
      <ErrorLine error={list.error ?? verify.error} />
      <table>
        <thead>
          <tr>
            <th scope="col" class="n">seq</th>
            <th scope="col">at</th>
            <th scope="col">actor</th>
            <th scope="col">action</th>
            <th scope="col">target</th>
            <th scope="col">source · request</th>
            <th scope="col">change</th>
          </tr>
        </thead>
        <tbody>
          {(list.data?.data ?? []).map((e) => (
            <tr key={e.seq}>
              <td class="n">{e.seq}</td>
              <td>{when(e.at)}</td>
              <td>
                {e.actor} <span class="hint">({e.actorType})</span>
              </td>
              <td>
                <code>{e.action}</code>
              </td>
              <td>{e.targetType ? `${e.targetType} ${e.targetId ?? ''}` : '–'}</td>
              <td>
                {e.source ?? '–'}
                <div class="hint">
                  <code>{e.requestId ?? ''}</code>
                </div>
              </td>
              <td>
                {e.before === null && e.after === null ? (
                  '–'
                ) : (
                  <details>
                    <summary>before / after</summary>
                    <pre>{JSON.stringify({ before: e.before, after: e.after }, null, 2)}</pre>
                  </details>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <nav class="pager" aria-label="Audit pages">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
          ← Newer
        </button>
        <span class="hint">page {cursors.length + 1}</span>
        <button type="button" disabled={!list.data?.nextCursor} onClick={() => list.data?.nextCursor && setCursors([...cursors, list.data.nextCursor])}>
          Older →
        </button>
      </nav>
    </Page>
  );
}
