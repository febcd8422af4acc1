import { api } from '../api.js';
import { ms, num, when } from '../format.js';
import { onLinkClick } from '../router.js';
import type { Deployment, List } from '../types.js';
import { Badge, ErrorLine, Page, useLoad } from '../ui.js';

const REFRESH_MS = 5_000;

const tones = { healthy: 'good', cooling_down: 'warn', breaker_half_open: 'warn', breaker_open: 'bad' } as const;

/** Deployments: health, breaker and its history, cooldowns, in-flight, pool, latency, recent failures. */
export function DeploymentsPage() {
  const list = useLoad(() => api<List<Deployment>>('/deployments'), [], REFRESH_MS);
  return (
    <Page title="Deployments" actions={<span class="hint">refreshed every 5 s{list.loading ? '…' : ''}</span>}>
      <ErrorLine error={list.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">deployment</th>
            <th scope="col">state</th>
            <th scope="col">provider · server</th>
            <th scope="col">models</th>
            <th scope="col" class="n">in flight</th>
            <th scope="col" class="n">pool active / idle / queued (max)</th>
            <th scope="col" class="n">latency p50 / p95</th>
            <th scope="col">cooldown until</th>
          </tr>
        </thead>
        <tbody>
          {(list.data?.data ?? []).map((d) => (
            <tr key={d.name}>
              <th scope="row">{d.name}</th>
              <td>
                <Badge tone={tones[d.state] ?? 'info'}>{d.state.replace(/_/g, ' ')}</Badge>
              </td>
              <td>
                {d.provider} · <code>{d.server}</code>
                <div class="hint">{d.upstreamModel}</div>
              </td>
              <td>{d.models.join(', ')}</td>
              <td class="n">{num(d.inFlight)}</td>
              <td class="n">
                {num(d.pool.active)} / {d.pool.idle === undefined ? '–' : num(d.pool.idle)} / {num(d.pool.queued)} ({d.pool.max === null ? '∞' : num(d.pool.max)})
              </td>
              <td class="n">{d.latencyMs ? `${ms(d.latencyMs.p50)} / ${ms(d.latencyMs.p95)}` : '–'}</td>
              <td>{when(d.cooldownUntil)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {(list.data?.data ?? []).map((d) => (
        <details key={d.name} class="card">
          <summary>
            {d.name}: breaker {d.breaker.state.replace('_', ' ')}, {d.breaker.transitions.length} transition{d.breaker.transitions.length === 1 ? '' : 's'}, {d.recentFailures.length} recent failure{d.recentFailures.length === 1 ? '' : 's'}
          </summary>
          <div class="two">
            <div>
              <h3>Breaker history</h3>
              {d.breaker.transitions.length === 0 ? (
                <p class="hint">No transitions.</p>
              ) : (
                <ol class="plain">
                  {d.breaker.transitions.map((t, i) => (
                    <li key={i}>
                      {when(t.at)}: {t.from} → {t.to} <span class="hint">({t.reason})</span>
                    </li>
                  ))}
                </ol>
              )}
            </div>
            <div>
              <h3>Recent failures</h3>
              {d.recentFailures.length === 0 ? (
                <p class="hint">None.</p>
              ) : (
                <ol class="plain">
                  {d.recentFailures.map((f, i) => (
                    <li key={i}>
                      {when(f.at)}: <strong>{f.outcome}</strong> {f.status ?? ''}{' '}
                      <a href={`/ui/requests/${encodeURIComponent(f.requestId)}`} onClick={(e) => onLinkClick(e, `/requests/${encodeURIComponent(f.requestId)}`)}>
                        <code>{f.requestId}</code>
                      </a>
                    </li>
                  ))}
                </ol>
              )}
            </div>
          </div>
        </details>
      ))}
    </Page>
  );
}
