import { useEffect, useState } from 'preact/hooks';
import { Chart } from '../chart.js';
import { ms, num, usd } from '../format.js';
import { followLive } from '../live-stream.js';
import type { Tick } from '../types.js';
import { Badge, Page, Stat } from '../ui.js';

/** At most this many seconds are kept (the server's history is the same five minutes). */
const HISTORY = 300;
/** Per-model and per-deployment tables sum the last this many seconds. */
const WINDOW = 10;
const MAX_SERIES = 8;

/** Live: this process's traffic, one tick a second from the event stream. */
export function LivePage() {
  const [ticks, setTicks] = useState<Tick[]>([]);
  const [state, setState] = useState<{ state: string; detail?: string | undefined }>({ state: 'connecting' });
  useEffect(
    () =>
      followLive({
        history: (h) => setTicks(h.slice(-HISTORY)),
        tick: (t) => setTicks((prev) => (prev.length >= HISTORY ? [...prev.slice(prev.length - HISTORY + 1), t] : [...prev, t])),
        state: (s, detail) => setState({ state: s, detail }),
      }),
    [],
  );

  const xs = ticks.map((t) => t.t / 1000);
  const last = ticks.at(-1);
  const recent = ticks.slice(-WINDOW);
  const perMinute = ticks.slice(-60);
  const errorsOf = (t: Tick): number => Object.entries(t.outcomes).reduce((n, [o, c]) => (o === 'success' ? n : n + c), 0);
  const outcomes = [...new Set(ticks.flatMap((t) => Object.keys(t.outcomes)))].filter((o) => o !== 'success').sort();
  const models = topKeys(lastMinute(ticks).map((t) => t.models));
  const deployments = topKeys(lastMinute(ticks).map((t) => t.deployments));
  const sum = (list: Tick[], f: (t: Tick) => number): number => list.reduce((n, t) => n + f(t), 0);
  const avg = (list: Tick[], f: (t: Tick) => number): number => (list.length === 0 ? 0 : sum(list, f) / list.length);

  return (
    <Page
      title="Live"
      actions={
        <span aria-live="polite">
          {state.state === 'open' ? <Badge tone="good">live</Badge> : state.state === 'connecting' ? <Badge tone="info">connecting…</Badge> : <Badge tone="warn">reconnecting{state.detail ? `: ${state.detail}` : ''}</Badge>}
        </span>
      }
    >
      <p class="hint">This gateway process's traffic, updated every second (the last {Math.round(ticks.length / 60) || '<1'} min shown; each replica has its own).</p>
      <div class="stats">
        <Stat id="rps" label={`requests/s (${WINDOW} s avg)`} value={num(avg(recent, (t) => t.requests))} />
        <Stat id="errors" label={`errors/s (${WINDOW} s avg)`} value={num(avg(recent, errorsOf))} />
        <Stat id="latency" label="latency p50 / p95" value={last?.latencyMs ? `${ms(last.latencyMs.p50)} / ${ms(last.latencyMs.p95)}` : '–'} />
        <Stat id="ttft" label="TTFT p50 / p95" value={last?.ttftMs ? `${ms(last.ttftMs.p50)} / ${ms(last.ttftMs.p95)}` : '–'} />
        <Stat id="tokens" label={`tokens/s (${WINDOW} s avg)`} value={num(avg(recent, (t) => t.tokens.input + t.tokens.output))} />
        <Stat id="cost" label="cost/min (last 60 s)" value={usd(sum(perMinute, (t) => t.costUsd))} />
        <Stat id="total" label="requests (shown)" value={num(sum(ticks, (t) => t.requests))} />
      </div>
      <div class="charts">
        <Chart title="Requests/s" unit="" xs={xs} series={[{ label: 'requests', values: ticks.map((t) => t.requests) }, { label: 'errors', values: ticks.map(errorsOf) }]} />
        <Chart title="Errors by outcome (/s)" xs={xs} series={outcomes.length ? outcomes.map((o) => ({ label: o, values: ticks.map((t) => t.outcomes[o] ?? 0) })) : [{ label: 'none', values: ticks.map(() => 0) }]} />
        <Chart
          title="Latency and time to first token"
          unit=" ms"
          xs={xs}
          series={[
            { label: 'latency p50', values: ticks.map((t) => t.latencyMs?.p50 ?? null) },
            { label: 'latency p95', values: ticks.map((t) => t.latencyMs?.p95 ?? null) },
            { label: 'TTFT p50', values: ticks.map((t) => t.ttftMs?.p50 ?? null) },
            { label: 'TTFT p95', values: ticks.map((t) => t.ttftMs?.p95 ?? null) },
          ]}
        />
        <Chart title="Tokens/s" xs={xs} series={[{ label: 'input', values: ticks.map((t) => t.tokens.input) }, { label: 'output', values: ticks.map((t) => t.tokens.output) }]} />
        <Chart title="Cost/min (rolling 60 s, $)" xs={xs} series={[{ label: 'cost/min', values: rolling(ticks.map((t) => t.costUsd), 60) }]} />
        <Chart title="Requests/s by model" xs={xs} series={models.map((m) => ({ label: m, values: ticks.map((t) => t.models[m]?.requests ?? 0) }))} />
      </div>
      <h2>By model (last {WINDOW} s)</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">model</th>
            <th scope="col" class="n">requests/s</th>
            <th scope="col" class="n">errors/s</th>
            <th scope="col" class="n">latency p50 / p95</th>
            <th scope="col" class="n">TTFT p50 / p95</th>
            <th scope="col" class="n">tokens/s</th>
            <th scope="col" class="n">cost/min</th>
          </tr>
        </thead>
        <tbody>
          {models.length === 0 ? (
            <NoTraffic columns={7} />
          ) : (
            models.map((m) => {
              const rows = recent.map((t) => t.models[m]).filter((x) => x !== undefined);
              const lastRow = rows.at(-1);
              return (
                <tr key={m}>
                  <th scope="row">{m}</th>
                  <td class="n">{num(perSecond(rows, (r) => r.requests))}</td>
                  <td class="n">{num(perSecond(rows, (r) => r.errors))}</td>
                  <td class="n">{p50p95(lastRow?.latencyMs)}</td>
                  <td class="n">{p50p95(lastRow?.ttftMs)}</td>
                  <td class="n">{num(perSecond(rows, (r) => r.tokens.input + r.tokens.output))}</td>
                  <td class="n">{usd(perSecond(rows, (r) => r.costUsd) * 60)}</td>
                </tr>
              );
            })
          )}
        </tbody>
      </table>
      <h2>By deployment (last {WINDOW} s)</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">deployment</th>
            <th scope="col" class="n">attempts/s</th>
            <th scope="col" class="n">errors/s</th>
            <th scope="col" class="n">latency p50 / p95</th>
            <th scope="col" class="n">in flight</th>
          </tr>
        </thead>
        <tbody>
          {deployments.length === 0 ? (
            <NoTraffic columns={5} />
          ) : (
            deployments.map((d) => {
              const rows = recent.map((t) => t.deployments[d]).filter((x) => x !== undefined);
              const lastRow = rows.at(-1);
              return (
                <tr key={d}>
                  <th scope="row">{d}</th>
                  <td class="n">{num(perSecond(rows, (r) => r.attempts))}</td>
                  <td class="n">{num(perSecond(rows, (r) => r.errors))}</td>
                  <td class="n">{p50p95(lastRow?.latencyMs)}</td>
                  <td class="n">{num(last?.deployments[d]?.inFlight ?? 0)}</td>
                </tr>
              );
            })
          )}
        </tbody>
      </table>
    </Page>
  );
}

/** A table body's only row before any traffic. */
function NoTraffic(props: { columns: number }) {
  return (
    <tr>
      <td colSpan={props.columns}>No traffic yet.</td>
    </tr>
  );
}

/** The mean per second over the window of what `count` takes from each second's row. */
function perSecond<R>(rows: readonly R[], count: (r: R) => number): number {
  return rows.reduce((n, r) => n + count(r), 0) / WINDOW;
}

/** `p50 / p95`, or a dash for a second without the measure. */
function p50p95(q: { readonly p50: number; readonly p95: number } | null | undefined): string {
  return q ? `${ms(q.p50)} / ${ms(q.p95)}` : '–';
}

function lastMinute(ticks: Tick[]): Tick[] {
  return ticks.slice(-60);
}

/** The names seen in the last minute, busiest first, at most MAX_SERIES. */
function topKeys(maps: Array<Record<string, { requests?: number; attempts?: number }>>): string[] {
  const count = new Map<string, number>();
  for (const m of maps) for (const [k, v] of Object.entries(m)) count.set(k, (count.get(k) ?? 0) + (v.requests ?? v.attempts ?? 0));
  return [...count.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, MAX_SERIES)
    .map(([k]) => k);
}

function rolling(values: number[], n: number): number[] {
  const out: number[] = [];
  let acc = 0;
  for (let i = 0; i < values.length; i++) {
    acc += values[i] ?? 0;
    if (i >= n) acc -= values[i - n] ?? 0;
    out.push(acc);
  }
  return out;
}
