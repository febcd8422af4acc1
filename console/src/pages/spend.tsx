import { useState } from 'preact/hooks';
import { api, download } from '../api.js';
import { Chart } from '../chart.js';
import { day, num, usd } from '../format.js';
import type { Spend, SpendRow } from '../types.js';
import { ErrorLine, messageOf, Page, useLoad } from '../ui.js';

interface Sum {
  requests: number;
  tokens: number;
  cost: number;
}

/** Spend by team, model and day over a range of UTC days, with a CSV export. */
export function SpendPage() {
  const now = new Date();
  const [from, setFrom] = useState(`${day(now).slice(0, 8)}01`);
  const [to, setTo] = useState(day(new Date(now.getTime() + 86_400_000)));
  const [exportError, setExportError] = useState<string | undefined>(undefined);
  const query = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&group_by=team,model,day`;
  const spend = useLoad(() => api<Spend>(`/spend?${query}`), [query]);
  const rows = spend.data?.data ?? [];
  const byDay = groupBy(rows, (r) => r.day ?? '');
  const byTeam = groupBy(rows, (r) => r.team ?? '(no team)');
  const byModel = groupBy(rows, (r) => r.model ?? '');
  const days = daysBetween(from, to);
  const xs = days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);

  return (
    <Page
      title="Spend"
      actions={
        <button
          type="button"
          onClick={() => {
            setExportError(undefined);
            download(`/spend?${query}&format=csv`, `spend-${from}-${to}.csv`).catch((err: unknown) => setExportError(messageOf(err)));
          }}
        >
          Export CSV
        </button>
      }
    >
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Spend range">
        <label>
          From (UTC day)
          <input type="date" value={from} onChange={(e) => setFrom((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <label>
          To (exclusive)
          <input type="date" value={to} onChange={(e) => setTo((e.currentTarget as HTMLInputElement).value)} />
        </label>
      </form>
      <ErrorLine error={spend.error ?? exportError} />
      <p>
        Total: <strong data-stat="spend-total">{usd(spend.data?.total.cost_usd ?? null)}</strong> over {num(spend.data?.total.requests ?? 0)} requests
        {spend.data && spend.data.total.unpricedRequests > 0 ? `, ${spend.data.total.unpricedRequests} unpriced (not in the total)` : ''}.
      </p>
      {days.length <= 400 && (
        <div class="charts">
          <Chart title="Cost per day ($)" bars xs={xs} series={[{ label: 'cost', values: days.map((d) => byDay.get(d)?.cost ?? 0) }]} />
          <Chart title="Requests per day" bars xs={xs} series={[{ label: 'requests', values: days.map((d) => byDay.get(d)?.requests ?? 0) }]} />
        </div>
      )}
      <div class="two">
        <SumTable title="By team" what="team" sums={byTeam} />
        <SumTable title="By model" what="model" sums={byModel} />
      </div>
    </Page>
  );
}

function SumTable(props: { title: string; what: string; sums: Map<string, Sum> }) {
  const entries = [...props.sums.entries()].sort((a, b) => b[1].cost - a[1].cost || a[0].localeCompare(b[0]));
  return (
    <div>
      <h2>{props.title}</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">{props.what}</th>
            <th scope="col" class="n">requests</th>
            <th scope="col" class="n">tokens</th>
            <th scope="col" class="n">cost</th>
          </tr>
        </thead>
        <tbody>
          {entries.length === 0 ? (
            <tr>
              <td colSpan={4}>No spend in this range.</td>
            </tr>
          ) : (
            entries.map(([name, s]) => (
              <tr key={name}>
                <th scope="row">{name}</th>
                <td class="n">{num(s.requests)}</td>
                <td class="n">{num(s.tokens)}</td>
                <td class="n">{usd(s.cost)}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}

function groupBy(rows: SpendRow[], key: (r: SpendRow) => string): Map<string, Sum> {
  const out = new Map<string, Sum>();
  for (const r of rows) {
    const k = key(r);
    const s = out.get(k) ?? { requests: 0, tokens: 0, cost: 0 };
    s.requests += r.requests;
    s.tokens += r.promptTokens + r.completionTokens;
    s.cost += Number(r.cost_usd);
    out.set(k, s);
  }
  return out;
}

function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  const start = Date.parse(`${from}T00:00:00Z`);
  const end = Date.parse(`${to}T00:00:00Z`);
  if (!Number.isFinite(start) || !Number.isFinite(end)) return out;
  for (let t = start; t < end && out.length <= 400; t += 86_400_000) out.push(day(new Date(t)));
  return out;
}
