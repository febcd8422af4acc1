// The "Costs that grow with scale" section of docs/performance.md and its four plots
// (docs/performance-scaling-{keys,routes,streams,body}.svg), from results.phases.sweeps
// (lib/sweeps.mjs). Pure functions, like report.mjs: no I/O, deterministic output.
import { fmtBytes, fmtUs, mdTable } from './report.mjs';

/** The thresholds each verdict uses (the issue's goals; "flat" and "unchanged" made numeric). */
export const sweepLimits = {
  /** Keys: added p50 at the largest count at most this much above the smallest count's. */
  keysFlatUs: 50,
  /** Routes: CPU per request at any count at most this factor of the smallest count's. */
  routesCpuFactor: 1.1,
  /** Streams: RSS and V8 heap per open stream at most this. */
  streamBytes: 30 * 1024,
  /** Streams: the count the goal names. */
  streams: 10_000,
  /** Body: the per-KB cost of the last size step at most this factor of the step before (linear, not worse). */
  bodyCpuSlopeFactor: 1.5,
  /** Body: event-loop lateness below this at every size. */
  bodyLoopMs: 20,
};

const fmtInt = (n) => (n === undefined || Number.isNaN(n) ? 'n/a' : Math.round(n).toLocaleString('en-US'));
const fmtKB = (bytes) => (bytes >= 1024 * 1024 ? `${bytes / 1024 / 1024} MB` : `${bytes / 1024} KB`);
const fmtMs = (ms) => (ms === undefined || Number.isNaN(ms) ? 'n/a' : `${ms.toFixed(1)} ms`);
const pct = (x) => `${x >= 0 ? '+' : '−'}${Math.abs(Math.round(x * 100))} %`;
const saturated = (s) => s.achieved < 0.95 * s.offered || s.errors > 0;
const check = (value, ok) => ({ value, met: value === undefined ? undefined : ok });

/** Added latency (gateway minus direct) of one keys step, for a percentile. */
export function keysAdded(step, key) {
  return step.ours.latencyUs[key] - step.direct.latencyUs[key];
}

/** RSS (or heap) growth per key between the smallest and the largest count. */
export function perKey(steps, field) {
  if (steps.length < 2) return undefined;
  const a = steps[0];
  const b = steps[steps.length - 1];
  return (b[field] - a[field]) / (b.keys - a.keys);
}

/** CPU µs per KB of prompt between consecutive body steps: [{ from, to, usPerKB }]. */
export function bodySlopes(steps) {
  const out = [];
  for (let i = 1; i < steps.length; i++) {
    const a = steps[i - 1];
    const b = steps[i];
    out.push({ from: a.bytes, to: b.bytes, usPerKB: (b.cpuUsPerRequest - a.cpuUsPerRequest) / ((b.bytes - a.bytes) / 1024) });
  }
  return out;
}

/** The sweep's step with the most streams. */
function largestStreams(steps) {
  return steps.reduce((best, s) => (best === undefined || s.streams > best.streams ? s : best), undefined);
}

/** Each sweep's goal, what was measured and whether it holds (undefined: not measured). */
export function evaluateSweeps(results) {
  const sw = results.phases.sweeps ?? {};
  const out = [];
  const keys = sw.keys?.steps ?? [];
  if (keys.length >= 2) {
    const first = keys[0];
    const last = keys[keys.length - 1];
    const rise = keysAdded(last, 'p50') - keysAdded(first, 'p50');
    const errors = keys.reduce((n, s) => n + s.ours.errors, 0);
    out.push({ id: 'keys', text: `keys: added p50 at c=1 flat from ${fmtInt(first.keys)} to ${fmtInt(last.keys)} keys (within ${sweepLimits.keysFlatUs} µs)`, ...check(`${fmtUs(keysAdded(first, 'p50'))} → ${fmtUs(keysAdded(last, 'p50'))}; per key: idle RSS ${fmtBytes(perKey(keys, 'rss'))}, V8 heap ${fmtBytes(perKey(keys, 'heapUsed'))}${errors ? `; ${fmtInt(errors)} errors` : ''}`, rise <= sweepLimits.keysFlatUs && errors === 0) });
  } else out.push({ id: 'keys', text: 'keys: added p50 at c=1 flat as keys grow', value: undefined, met: undefined });
  const routes = sw.routes?.steps ?? [];
  if (routes.length >= 2) {
    const base = routes[0].cpuUsPerRequest;
    const worst = routes.reduce((w, s) => (s.cpuUsPerRequest > w.cpuUsPerRequest ? s : w), routes[0]);
    const last = routes[routes.length - 1];
    const ok = worst.cpuUsPerRequest <= sweepLimits.routesCpuFactor * base && !routes.some(saturated);
    out.push({ id: 'routes', text: `routes: CPU per request unchanged from ${fmtInt(routes[0].routes)} to ${fmtInt(last.routes)} aliases (within ${pct(sweepLimits.routesCpuFactor - 1)})`, ...check(`${fmtUs(base)} → ${fmtUs(last.cpuUsPerRequest)} (${pct(last.cpuUsPerRequest / base - 1)}; most ${fmtUs(worst.cpuUsPerRequest)} at ${fmtInt(worst.routes)})`, ok) });
  } else out.push({ id: 'routes', text: 'routes: CPU per request unchanged as aliases grow', value: undefined, met: undefined });
  const streams = sw.streams?.steps ?? [];
  const big = largestStreams(streams);
  if (big) {
    const capped = big.streams < big.requested ? ` (${fmtInt(big.streams)} streams: ${fmtInt(big.requested)} did not fit the open-files limit)` : big.streams < sweepLimits.streams ? ` (at ${fmtInt(big.streams)} streams, the most this run tried)` : '';
    out.push({ id: 'stream-memory', text: `open streams: memory per stream ≤ ${fmtBytes(sweepLimits.streamBytes)} at ${fmtInt(sweepLimits.streams)} streams`, ...check(big.rssPerStream === undefined ? undefined : `RSS ${fmtBytes(big.rssPerStream)}, V8 heap ${fmtBytes(big.heapPerStream)}${capped}`, big.rssPerStream <= sweepLimits.streamBytes && big.heapPerStream <= sweepLimits.streamBytes && big.active === big.streams) });
    const lost = streams.reduce((n, s) => n + (s.streams - s.completed), 0);
    const total = streams.reduce((n, s) => n + s.streams, 0);
    out.push({ id: 'stream-complete', text: 'open streams: every stream completes, no errors', ...check(`${fmtInt(total - lost)} of ${fmtInt(total)} completed${lost ? `, ${fmtInt(lost)} did not` : ''}`, lost === 0 && streams.every((s) => s.errors === 0 && s.rejected === 0)) });
  } else {
    out.push({ id: 'stream-memory', text: `open streams: memory per stream ≤ ${fmtBytes(sweepLimits.streamBytes)}`, value: undefined, met: undefined });
    out.push({ id: 'stream-complete', text: 'open streams: every stream completes', value: undefined, met: undefined });
  }
  const body = sw.body?.steps ?? [];
  if (body.length >= 3) {
    const slopes = bodySlopes(body);
    const last = slopes[slopes.length - 1];
    const prev = slopes[slopes.length - 2];
    out.push({ id: 'body-cpu', text: `body size: CPU per request grows linearly (the last step's µs per KB ≤ ${sweepLimits.bodyCpuSlopeFactor}× the one before)`, ...check(`${last.usPerKB.toFixed(2)} µs per KB from ${fmtKB(last.from)} to ${fmtKB(last.to)}, ${prev.usPerKB.toFixed(2)} from ${fmtKB(prev.from)} to ${fmtKB(prev.to)}`, last.usPerKB <= sweepLimits.bodyCpuSlopeFactor * prev.usPerKB && !body.some(saturated)) });
  } else out.push({ id: 'body-cpu', text: 'body size: CPU per request grows linearly', value: undefined, met: undefined });
  const loops = body.filter((s) => s.eventLoop);
  if (loops.length > 0) {
    const worst = loops.reduce((w, s) => (s.eventLoop.maxMs > w.eventLoop.maxMs ? s : w));
    out.push({ id: 'body-loop', text: `body size: event-loop delay < ${sweepLimits.bodyLoopMs} ms at every size`, ...check(`max ${fmtMs(worst.eventLoop.maxMs)} (p99 ${fmtMs(worst.eventLoop.p99Ms)}) at ${fmtKB(worst.bytes)}`, loops.every((s) => s.eventLoop.maxMs < sweepLimits.bodyLoopMs)) });
  } else out.push({ id: 'body-loop', text: `body size: event-loop delay < ${sweepLimits.bodyLoopMs} ms`, value: undefined, met: undefined });
  return out;
}

function keysTable(sw) {
  return mdTable(
    ['keys', 'ready after', 'idle RSS', 'idle V8 heap', 'direct p50', 'p50', 'added p50', 'added p99', 'requests', 'errors'],
    sw.steps.map((s) => [fmtInt(s.keys), fmtUs(s.startMs * 1000), fmtBytes(s.rss), fmtBytes(s.heapUsed), fmtUs(s.direct.latencyUs.p50), fmtUs(s.ours.latencyUs.p50), fmtUs(keysAdded(s, 'p50')), fmtUs(keysAdded(s, 'p99')), fmtInt(s.ours.ok), fmtInt(s.ours.errors)]),
  );
}

function routesTable(sw) {
  return mdTable(
    ['aliases (a deployment each)', 'offered', 'served', 'CPU / req', 'alloc / req', 'CPU busy', 'p50', 'p99', 'errors'],
    sw.steps.map((s) => [fmtInt(s.routes), `${fmtInt(s.offered)}/s`, `${fmtInt(s.achieved)}/s${saturated(s) ? ' (sat.)' : ''}`, fmtUs(s.cpuUsPerRequest), fmtBytes(s.allocBytesPerRequest), `${Math.round(s.cpuBusy * 100)} %`, fmtUs(s.latencyUs.p50), fmtUs(s.latencyUs.p99), fmtInt(s.errors)]),
  );
}

function streamsTable(sw) {
  return mdTable(
    ['streams', 'open at once', 'completed', 'errors', 'all open after', 'RSS before', 'RSS all open', 'RSS / stream', 'V8 heap / stream', 'RSS after all ended'],
    sw.steps.map((s) => [fmtInt(s.streams) + (s.streams < s.requested ? ` (of ${fmtInt(s.requested)})` : ''), fmtInt(s.active), fmtInt(s.completed), fmtInt(s.errors + s.rejected), fmtUs((s.openMs ?? Number.NaN) * 1000), fmtBytes(s.rssBefore), fmtBytes(s.rssOpen), fmtBytes(s.rssPerStream), fmtBytes(s.heapPerStream), fmtBytes(s.rssAfter)]),
  );
}

function bodyTable(sw) {
  const slopes = bodySlopes(sw.steps);
  return mdTable(
    ['prompt', 'offered', 'served', 'CPU / req', 'µs per KB since the size before', 'alloc / req', 'event loop late p99', 'late max', 'p50', 'p99', 'errors'],
    sw.steps.map((s, i) => [fmtKB(s.bytes), `${fmtInt(s.rate)}/s`, `${fmtInt(s.achieved)}/s${saturated({ ...s, offered: s.rate }) ? ' (sat.)' : ''}`, fmtUs(s.cpuUsPerRequest), i === 0 ? '—' : slopes[i - 1].usPerKB.toFixed(2), fmtBytes(s.allocBytesPerRequest), fmtMs(s.eventLoop?.p99Ms), fmtMs(s.eventLoop?.maxMs), fmtUs(s.latencyUs.p50), fmtUs(s.latencyUs.p99), fmtInt(s.errors)]),
  );
}

function verdictTable(results) {
  return mdTable(
    ['goal (llm-gateway)', 'measured', 'met'],
    evaluateSweeps(results).map((g) => [g.text, g.value ?? 'not measured', g.met === undefined ? '—' : g.met ? 'yes' : '**no**']),
  );
}

/** The whole "Costs that grow with scale" section (ends with a blank line). */
export function renderSweepsSection(results) {
  const sw = results.phases.sweeps;
  if (!sw) return '## Costs that grow with scale\n\nNot measured in this run (`--phases sweeps`).\n\n';
  const parts = [`## Costs that grow with scale

Each sweep runs on gateways of its own, started fresh (a new process per step, except the body
sweep's one), pinned as above: the gateway on CPU 1, load generators and fake upstreams on CPU 0,
and warmed up as the maximum-throughput phase's targets before anything is measured. The fifth
cost the issue names, cores, is the multi-core scaling section above.

${verdictTable(results)}
`];
  if (sw.keys) {
    const k = sw.keys;
    parts.push(`### API keys in the control plane

![added latency and idle RSS against the number of keys](performance-scaling-keys.svg)

${keysTable(k)}

The keys live in the control plane's embedded store (PGlite), filled directly with the gateway's
own store modules (bench/lib/control-store-fill.mjs: ${fmtInt(k.teams)} teams, the keys spread over them),
and the gateway loads them all at start. "Idle RSS" and heap are read ${k.settleMs / 1000} s after \`/ready\`, before
any request, after a full GC. Latency is sequential requests (concurrency 1) for ${k.durationMs / 1000} s, each with a key drawn at random
among all of them (the same seeded sequence for every count), minus the same sequence sent to
the fake upstream directly just before. Idle RSS grows by ${fmtBytes(perKey(k.steps, 'rss'))} per key and the V8 heap by
${fmtBytes(perKey(k.steps, 'heapUsed'))} (from ${fmtInt(k.steps[0]?.keys)} to ${fmtInt(k.steps[k.steps.length - 1]?.keys)} keys).
`);
  }
  if (sw.routes) {
    const r = sw.routes;
    parts.push(`### Routes

![CPU per request against the number of aliases](performance-scaling-routes.svg)

${routesTable(r)}

Each alias has one target on a deployment of its own (its own connection pool), all on the
fake upstream's 3 ports; requests name the aliases in turn, from the benchmark's 100 tenants
(allowed every model). Open loop at ${fmtInt(r.rate)} req/s for ${r.durationMs / 1000} s, after ${r.warmupMs / 1000} s at that rate unmeasured (every pool connected).
`);
  }
  if (sw.streams) {
    const s = sw.streams;
    const capped = s.steps.filter((x) => x.streams < x.requested);
    parts.push(`### Open streams

![memory against concurrent streams](performance-scaling-streams.svg)

${streamsTable(s)}

Streams from a fake upstream that sends a chunk every ${s.chunkGapMs} ms. RSS and V8 heap are read when
every stream has delivered its first chunk ("open at once": those not yet ended then), minus
the same just before (after a warm-up of fast streams); then the fake ends every stream (its
usage chunk and \`data: [DONE]\` at its next tick) and the client, which reads each stream to
its end, counts as "completed" those that ended with \`data: [DONE]\`. The config is what a user would set for 10,000 streams:
\`server.maxConnections\` 20,000 and each deployment's \`maxConnections\` 10,000 (the schema's
maximum). Each stream holds a client and an upstream socket in the gateway, so N streams need
about 2N open files (\`ulimit -n\`); the children get that limit when the hard limit allows.${capped.length > 0 ? ` Here the hard limit is ${fmtInt(s.openFiles?.hard)}, so ${capped.map((x) => `${fmtInt(x.requested)} streams (${fmtInt(2 * x.requested + s.reserveFiles)} files) became ${fmtInt(x.streams)}`).join(', ')}.` : ''}
`);
  }
  if (sw.body) {
    const b = sw.body;
    parts.push(`### Request body size

![CPU per request and event-loop delay against prompt size](performance-scaling-body.svg)

${bodyTable(b)}

One user message of the given size (ASCII prose-like filler), not streamed, at a fixed open-loop
rate that falls for the large sizes, ${b.durationMs / 1000} s per size on one gateway (the default body limit,
10 MiB, admits 1 MB). "Event loop late" is how much later than due a 10 ms timer ran during the
step (the probe's \`monitorEventLoopDelay\`, its 10 ms interval taken off), so a blocking parse
shows here.
`);
  }
  return `${parts.join('\n')}\n`;
}

// --- plots ---------------------------------------------------------------------------------

const W = 760;
const H = 420;
const L = 80;
const R = 90;
const T = 62;
const B = 54;
const palette = { ours: '#2ca02c', direct: '#7f7f7f', second: '#1f77b4', goal: '#d62728' };

/** A round upper bound and step for a linear axis from 0 (about 5 ticks). */
export function niceScale(max) {
  const top = max > 0 ? max : 1;
  const raw = top / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw);
  return { max: Math.ceil(top / step) * step, step };
}

/** A y axis: { frac(v) → 0..1 from the bottom, ticks }; log in decades, linear from 0. */
function axis(spec, values) {
  if (spec.log) {
    const pos = values.filter((v) => v > 0);
    const lo = Math.floor(Math.log10(Math.min(...pos, spec.min ?? Infinity)));
    const hi = Math.ceil(Math.log10(Math.max(...pos, spec.max ?? 0)));
    const top = hi > lo ? hi : lo + 1;
    const ticks = [];
    for (let e = lo; e <= top; e++) ticks.push(10 ** e);
    return { frac: (v) => (Math.log10(Math.max(v, 10 ** lo)) - lo) / (top - lo), ticks };
  }
  const { max, step } = niceScale(Math.max(...values, spec.max ?? 0) * 1.05);
  const ticks = [];
  for (let v = 0; v <= max + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  return { frac: (v) => v / max, ticks };
}

/**
 * A line chart: x (log or linear) against a left axis and, optionally, a right one.
 * series: [{ name, color, axis: 'left'|'right', dash, noMarkers, points: [[x, y]] }];
 * goals: horizontal dashed lines [{ axis, y, label }].
 */
export function lineChart({ title, x, left, right, series: given, goals = [] }) {
  // A step that served nothing has no value: it is left out, not drawn at NaN.
  const series = given.map((s) => ({ ...s, points: s.points.filter(([vx, vy]) => Number.isFinite(vx) && Number.isFinite(vy) && (!x.log || vx > 0) && (!(s.axis === 'right' ? right : left).log || vy > 0)) }));
  // x: ticks at the data's own x values; a log axis spans exactly their range, a linear one 0 to the largest.
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const xPos = xs.filter((v) => v > 0);
  const [xLo, xHi] = [Math.log10(Math.min(...xPos)), Math.log10(Math.max(...xPos))];
  const xFrac = x.log ? (v) => (Math.log10(v) - xLo) / (xHi - xLo || 1) : (v) => v / (Math.max(...xs) || 1);
  const ya = {
    left: axis(left, [...series.filter((s) => s.axis !== 'right').flatMap((s) => s.points.map((p) => p[1])), ...goals.filter((g) => g.axis !== 'right').map((g) => g.y)]),
    ...(right ? { right: axis(right, [...series.filter((s) => s.axis === 'right').flatMap((s) => s.points.map((p) => p[1])), ...goals.filter((g) => g.axis === 'right').map((g) => g.y)]) } : {}),
  };
  const px = (v) => (L + xFrac(v) * (W - L - R)).toFixed(1);
  const py = (a, v) => (H - B - ya[a === 'right' ? 'right' : 'left'].frac(v) * (H - T - B)).toFixed(1);
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${L}" y="22" font-size="14" font-weight="bold">${esc(title)}</text>`);
  for (const v of ya.left.ticks) {
    out.push(`<line x1="${L}" y1="${py('left', v)}" x2="${W - R}" y2="${py('left', v)}" stroke="#ddd"/>`);
    out.push(`<text x="${L - 6}" y="${(Number(py('left', v)) + 4).toFixed(1)}" text-anchor="end">${esc(left.fmt(v))}</text>`);
  }
  if (right) for (const v of ya.right.ticks) out.push(`<text x="${W - R + 6}" y="${(Number(py('right', v)) + 4).toFixed(1)}">${esc(right.fmt(v))}</text>`);
  for (const v of x.log ? xPos : xs) {
    out.push(`<line x1="${px(v)}" y1="${T}" x2="${px(v)}" y2="${H - B}" stroke="#eee"/>`);
    out.push(`<text x="${px(v)}" y="${H - B + 16}" text-anchor="middle">${esc(x.fmt(v))}</text>`);
  }
  out.push(`<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#999"/>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 14}" text-anchor="middle">${esc(x.label)}</text>`);
  out.push(`<text transform="translate(18 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(left.label)}</text>`);
  if (right) out.push(`<text transform="translate(${W - 14} ${(T + H - B) / 2}) rotate(90)" text-anchor="middle">${esc(right.label)}</text>`);
  for (const g of goals) {
    const y = py(g.axis, g.y);
    out.push(`<line x1="${L}" y1="${y}" x2="${W - R}" y2="${y}" stroke="${palette.goal}" stroke-dasharray="2 4"/>`);
    out.push(`<text x="${W - R - 4}" y="${(Number(y) - 4).toFixed(1)}" text-anchor="end" fill="${palette.goal}">${esc(g.label)}</text>`);
  }
  // The legend is one row between the title and the plot, so it never covers a line.
  let legendX = L;
  for (const s of series) {
    const a = s.axis === 'right' ? 'right' : 'left';
    const dash = s.dash ? ' stroke-dasharray="5 4"' : '';
    const pts = s.points.map(([vx, vy]) => `${px(vx)},${py(a, vy)}`).join(' ');
    out.push(`<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
    if (!s.noMarkers) for (const [vx, vy] of s.points) out.push(`<circle cx="${px(vx)}" cy="${py(a, vy)}" r="3" fill="${s.color}"/>`);
    out.push(`<line x1="${legendX}" y1="40" x2="${legendX + 24}" y2="40" stroke="${s.color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${legendX + 30}" y="44">${esc(s.name)}</text>`);
    legendX += 50 + 7 * s.name.length;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const countFmt = (v) => (v >= 1000 ? `${v / 1000}k` : String(v));
const mb = (b) => b / 1024 / 1024;

/** The four plots, keyed by sweep (only the sweeps in the results): { keys: '<svg…', … }. */
export function renderSweepSvgs(results) {
  const sw = results.phases.sweeps ?? {};
  const out = {};
  if (sw.keys?.steps.length) {
    const st = sw.keys.steps;
    out.keys = lineChart({
      title: 'API keys in the control plane: added p50 at c=1 and idle RSS',
      x: { log: true, label: 'API keys in the store (log scale)', fmt: countFmt },
      left: { label: 'added latency p50 (µs)', fmt: (v) => String(v) },
      right: { label: 'idle RSS (MB)', fmt: (v) => String(v) },
      series: [
        { name: 'added p50 (gateway − direct)', color: palette.ours, points: st.map((s) => [s.keys, keysAdded(s, 'p50')]) },
        { name: 'idle RSS (right axis)', color: palette.second, dash: true, axis: 'right', points: st.map((s) => [s.keys, mb(s.rss)]) },
      ],
    });
  }
  if (sw.routes?.steps.length) {
    const st = sw.routes.steps;
    out.routes = lineChart({
      title: `Routes: gateway CPU per request at ${fmtInt(sw.routes.rate)} req/s`,
      x: { log: true, label: 'aliases, one deployment each (log scale)', fmt: countFmt },
      left: { label: 'CPU per request (µs)', fmt: (v) => String(v) },
      series: [{ name: 'CPU per request', color: palette.ours, points: st.map((s) => [s.routes, s.cpuUsPerRequest]) }],
    });
  }
  if (sw.streams?.steps.length) {
    const st = sw.streams.steps;
    const most = Math.max(...st.map((s) => s.streams));
    out.streams = lineChart({
      title: 'Open streams: gateway memory added with every stream open',
      x: { log: false, label: 'concurrent streams', fmt: countFmt },
      left: { label: 'added (MB)', fmt: (v) => String(v) },
      series: [
        { name: 'RSS added', color: palette.ours, points: [[0, 0], ...st.map((s) => [s.streams, mb(s.rssOpen - s.rssBefore)])] },
        { name: 'V8 heap added', color: palette.second, dash: true, points: [[0, 0], ...st.map((s) => [s.streams, mb(s.heapOpen - s.heapBefore)])] },
        { name: `goal: ${fmtBytes(sweepLimits.streamBytes)} per stream`, color: palette.goal, dash: true, noMarkers: true, points: [[0, 0], [most, mb(most * sweepLimits.streamBytes)]] },
      ],
    });
  }
  if (sw.body?.steps.length) {
    const st = sw.body.steps;
    out.body = lineChart({
      title: 'Body size: gateway CPU per request and event-loop delay',
      x: { log: true, label: 'prompt size (KB, log scale)', fmt: (v) => (v >= 1024 ? `${v / 1024} MB` : `${v} KB`) },
      left: { log: true, label: 'CPU per request (log scale)', fmt: fmtUs },
      right: { label: 'event loop late, max (ms)', fmt: (v) => String(v) },
      series: [
        { name: 'CPU per request', color: palette.ours, points: st.map((s) => [s.bytes / 1024, s.cpuUsPerRequest]) },
        ...(st.every((s) => s.eventLoop) ? [{ name: 'event loop late, max (right axis)', color: palette.second, dash: true, axis: 'right', points: st.map((s) => [s.bytes / 1024, s.eventLoop.maxMs]) }] : []),
      ],
      goals: st.every((s) => s.eventLoop) ? [{ axis: 'right', y: sweepLimits.bodyLoopMs, label: `goal: event loop < ${sweepLimits.bodyLoopMs} ms` }] : [],
    });
  }
  return out;
}
