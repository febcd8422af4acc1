import { api } from '../api.js';
import { ms, num, usd, when } from '../format.js';
import { onLinkClick } from '../router.js';
import type { AttemptLogEntry, RequestDetail } from '../types.js';
import { Badge, ErrorLine, Page, useLoad } from '../ui.js';

/** One request as a timeline of its attempts: deployment, why each retry or fallback, TTFT, tokens, cost, trace id. */
export function RequestPage(props: { id: string }) {
  const req = useLoad(() => api<RequestDetail>(`/requests/${encodeURIComponent(props.id)}`), [props.id]);
  const r = req.data;
  const attempts = r ? attemptsOf(r) : [];
  const total = Math.max(r?.durationMs ?? 0, ...attempts.map((a) => a.startMs + a.durationMs), 1);
  return (
    <Page
      title="Request"
      actions={
        <a href="/ui/requests" onClick={(e) => onLinkClick(e, '/requests')}>
          ← all requests
        </a>
      }
    >
      <ErrorLine error={req.error} />
      {r && (
        <>
          <dl class="facts">
            <dt>request id</dt>
            <dd>
              <code>{r.id}</code>
            </dd>
            <dt>trace id</dt>
            <dd>
              <code data-trace-id>{r.traceId ?? '–'}</code>
            </dd>
            <dt>started</dt>
            <dd>{when(r.startedAt)}</dd>
            <dt>team · key</dt>
            <dd>
              {r.team ?? '–'} · {r.keyId ?? '–'}
            </dd>
            <dt>model → served</dt>
            <dd>
              {r.model} → {r.servedModel ?? '–'} on {r.deployment ?? '–'}
            </dd>
            <dt>result</dt>
            <dd>
              {r.status} <Badge tone={r.outcome === 'success' ? 'good' : 'bad'}>{r.outcome}</Badge> {r.errorCode ?? ''}
            </dd>
            <dt>duration · TTFT</dt>
            <dd>
              {ms(r.durationMs)} · {ms(r.ttftMs)} {r.stream ? '(streamed)' : ''}
            </dd>
            <dt>tokens</dt>
            <dd>{r.usage ? `${num(r.usage.promptTokens)} in, ${num(r.usage.completionTokens)} out` : '–'}</dd>
            <dt>cost</dt>
            <dd>{usd(r.cost_usd)}</dd>
          </dl>
          <h2>Attempts</h2>
          <ol class="timeline" aria-label="Attempts in order">
            {attempts.map((a) => (
              <li key={a.n} class="attempt" data-attempt={a.n}>
                <div class="attempt-head">
                  <strong>
                    #{a.n} {a.deployment}
                  </strong>{' '}
                  <span class="hint">({a.alias})</span> <Badge tone={a.outcome === 'success' ? 'good' : 'bad'}>{a.outcome}</Badge> {a.status ?? ''} · at {ms(a.startMs)} for {ms(a.durationMs)}
                  {a.ttftMs !== null ? ` · TTFT ${ms(a.ttftMs)}` : ''}
                </div>
                <div class="bar-track" aria-hidden="true">
                  <div class={`bar ${a.outcome === 'success' ? 'ok' : 'failed'}`} style={{ marginLeft: `${(a.startMs / total) * 100}%`, width: `${Math.max(0.5, (a.durationMs / total) * 100)}%` }} />
                </div>
                {a.next && (
                  <div class="next">
                    → {a.next}
                    {a.reason ? `: ${a.reason}` : ''}
                  </div>
                )}
              </li>
            ))}
          </ol>
          {attempts.length === 0 && <p class="hint">No upstream attempt (refused before routing).</p>}
        </>
      )}
    </Page>
  );
}

/** The attempt log, or for an older row one rebuilt from its `detail` (no TTFT or start times then). */
function attemptsOf(r: RequestDetail): AttemptLogEntry[] {
  if (r.attemptLog && r.attemptLog.length > 0) return r.attemptLog;
  const list = r.detail.attempts ?? [];
  const retries = [...(r.detail.retries ?? [])];
  const fallbacks = [...(r.detail.fallbacks ?? [])];
  let start = 0;
  let alias = r.model;
  return list.map((a, i) => {
    const last = i === list.length - 1;
    const retry = !last && a.outcome !== 'success' ? retries.find((x) => x.fromDeployment === a.deployment) : undefined;
    if (retry) retries.splice(retries.indexOf(retry), 1);
    const fallback = !last && !retry ? fallbacks.shift() : undefined;
    const entry: AttemptLogEntry = { n: a.attempt, alias, deployment: a.deployment, startMs: start, durationMs: a.durationMs, outcome: a.outcome, status: a.status, ttftMs: null, next: last ? null : retry ? 'retry' : fallback ? 'fallback' : 'retry', reason: retry?.reason ?? (fallback ? `${fallback.from} → ${fallback.to}` : null) };
    start += a.durationMs + (retry?.delayMs ?? 0);
    if (fallback) alias = fallback.to;
    return entry;
  });
}
