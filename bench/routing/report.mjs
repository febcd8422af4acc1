// Turns the routing benchmark's raw results (bench/routing/results/latest.raw.json, written by
// run.mjs) into the "Benchmark" section of docs/routing.md, its SVG chart and a console table.
// Pure functions, no I/O: test/routing-bench-report.test.ts renders the committed raw results
// and checks docs/routing.md says the same.
import { summarize } from '../lib/stats.mjs';

/** The fields of one replayed request's row, in order (replay.mjs writes them so). */
export const rowFields = ['id', 'status', 'ttftMs', 'e2eMs', 'outputTokens', 'deployment', 'costUsd', 'error'];
/** The fields of one workload request as saved with the results, in order. */
export const requestFields = ['atMs', 'tenant', 'interactive', 'promptTokens', 'maxTokens', 'sloTtftMs', 'sloTpotMs'];

const R = Object.fromEntries(rowFields.map((f, i) => [f, i]));
const Q = Object.fromEntries(requestFields.map((f, i) => [f, i]));

export const goals = [
  { id: 'predicted-ttft', text: '`predicted_latency` p90 TTFT at least 40 % lower than `least_latency`' },
  { id: 'predicted-e2e', text: '`predicted_latency` p50 end-to-end latency at least 30 % lower than `round_robin`' },
  { id: 'predicted-slo', text: '`predicted_latency` SLO attainment higher than every other strategy' },
  { id: 'prefix-hit', text: '`prefix_affinity` prefix-cache hit rate higher than `round_robin`, without a worse p99 (TTFT and end-to-end)' },
];

export function fmtMs(ms) {
  if (ms === undefined || ms === null || Number.isNaN(ms)) return 'n/a';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

export function fmtPct(share) {
  return share === undefined || Number.isNaN(share) ? 'n/a' : `${(share * 100).toFixed(1)} %`;
}

function fmtUsd(usd) {
  return Number.isFinite(usd) ? `$${usd.toFixed(2)}` : 'n/a';
}

/** Whether a row is a completed request (200 with a first token, not cut off). */
export function completed(row) {
  return row[R.status] === 200 && row[R.error] === null;
}

/** Time per output token after the first; undefined for answers of fewer than two tokens. */
function tpot(row) {
  const n = row[R.outputTokens];
  return n >= 2 ? (row[R.e2eMs] - row[R.ttftMs]) / (n - 1) : undefined;
}

/**
 * A request meets its SLO when it completed and both its TTFT and TPOT objectives hold (a
 * one-token answer has no TPOT to miss). Errors and cut-off requests miss.
 */
function meetsSlo(row, request) {
  if (!completed(row)) return false;
  const t = tpot(row);
  return row[R.ttftMs] <= request[Q.sloTtftMs] && (t === undefined || t <= request[Q.sloTpotMs]);
}

/** Everything the report shows for one variant, computed from its rows and the workload. */
export function summarizeVariant(results, variant) {
  const requests = results.workload.requests;
  const rows = variant.rows;
  const ok = rows.filter(completed);
  const errors = {};
  for (const row of rows) if (!completed(row)) errors[row[R.error] ?? `http_${row[R.status]}`] = (errors[row[R.error] ?? `http_${row[R.status]}`] ?? 0) + 1;
  const sloRows = rows.filter((row) => requests[row[R.id]][Q.sloTtftMs] !== null);
  const met = sloRows.filter((row) => meetsSlo(row, requests[row[R.id]])).length;
  const shares = {};
  for (const d of results.fleet) shares[d.name] = 0;
  for (const row of ok) if (row[R.deployment] !== null) shares[row[R.deployment]] = (shares[row[R.deployment]] ?? 0) + 1 / ok.length;
  let cost = 0;
  for (const row of ok) cost += row[R.costUsd] ?? 0;
  // The fleet's own counters: every prompt a server admitted (a hedge's losing attempt too).
  let queried = 0;
  let hit = 0;
  for (const stats of Object.values(variant.fleetStats)) {
    queried += stats.prefixQueryTokens;
    hit += stats.prefixHitTokens;
  }
  return {
    name: variant.name,
    sent: rows.length,
    ok: ok.length,
    errors,
    errorCount: rows.length - ok.length,
    ttftMs: summarize(ok.map((r) => r[R.ttftMs])),
    e2eMs: summarize(ok.map((r) => r[R.e2eMs])),
    tpotMs: summarize(ok.map(tpot).filter((t) => t !== undefined)),
    sloRequests: sloRows.length,
    sloMet: met,
    sloAttainment: sloRows.length ? met / sloRows.length : Number.NaN,
    goodputPerSec: met / (results.workload.durationMs / 1000),
    costUsd: cost,
    costPer1kUsd: ok.length ? (cost / ok.length) * 1000 : Number.NaN,
    prefixHitRate: queried ? hit / queried : Number.NaN,
    shares,
  };
}

export function summarizeAll(results) {
  return results.variants.map((v) => summarizeVariant(results, v));
}

/** Each goal with the numbers it was judged on; `met` undefined when a strategy was not run. */
export function evaluateGoals(results) {
  const s = Object.fromEntries(summarizeAll(results).map((v) => [v.name, v]));
  const pl = s.predicted_latency;
  const ll = s.least_latency;
  const rr = s.round_robin;
  const pa = s.prefix_affinity;
  const lower = (a, b) => `${fmtPct(1 - a / b)} lower`;
  const byId = {};
  if (pl && ll) byId['predicted-ttft'] = { value: `${fmtMs(pl.ttftMs.p90)} against ${fmtMs(ll.ttftMs.p90)} (${lower(pl.ttftMs.p90, ll.ttftMs.p90)})`, met: pl.ttftMs.p90 <= 0.6 * ll.ttftMs.p90 };
  if (pl && rr) byId['predicted-e2e'] = { value: `${fmtMs(pl.e2eMs.p50)} against ${fmtMs(rr.e2eMs.p50)} (${lower(pl.e2eMs.p50, rr.e2eMs.p50)})`, met: pl.e2eMs.p50 <= 0.7 * rr.e2eMs.p50 };
  // Variants of predicted_latency itself (hedged) are not "other strategies".
  const others = results.variants.filter((v) => v.strategy !== 'predicted_latency').map((v) => s[v.name]);
  if (pl && others.length > 0) {
    const best = others.reduce((a, b) => (b.sloAttainment > a.sloAttainment ? b : a));
    byId['predicted-slo'] = { value: `${fmtPct(pl.sloAttainment)}; best other ${best.name} ${fmtPct(best.sloAttainment)}`, met: others.every((o) => pl.sloAttainment > o.sloAttainment) };
  }
  if (pa && rr) {
    byId['prefix-hit'] = {
      value: `hit rate ${fmtPct(pa.prefixHitRate)} against ${fmtPct(rr.prefixHitRate)}; p99 TTFT ${fmtMs(pa.ttftMs.p99)} against ${fmtMs(rr.ttftMs.p99)}, p99 end-to-end ${fmtMs(pa.e2eMs.p99)} against ${fmtMs(rr.e2eMs.p99)}`,
      met: pa.prefixHitRate > rr.prefixHitRate && pa.ttftMs.p99 <= rr.ttftMs.p99 && pa.e2eMs.p99 <= rr.e2eMs.p99,
    };
  }
  return goals.map((g) => ({ ...g, value: byId[g.id]?.value, met: byId[g.id]?.met }));
}

function mdTable(header, rows) {
  return [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function resultsTable(summaries) {
  return mdTable(
    ['strategy', 'TTFT p50', 'TTFT p90', 'TTFT p99', 'e2e p50', 'e2e p90', 'e2e p99', 'TPOT p50', 'SLO met', 'goodput', 'cost / 1k req', 'prefix hits', 'errors'],
    summaries.map((v) => [
      v.name,
      fmtMs(v.ttftMs.p50),
      fmtMs(v.ttftMs.p90),
      fmtMs(v.ttftMs.p99),
      fmtMs(v.e2eMs.p50),
      fmtMs(v.e2eMs.p90),
      fmtMs(v.e2eMs.p99),
      fmtMs(v.tpotMs.p50),
      fmtPct(v.sloAttainment),
      `${v.goodputPerSec.toFixed(2)}/s`,
      fmtUsd(v.costPer1kUsd),
      fmtPct(v.prefixHitRate),
      v.errorCount === 0 ? '0' : `${v.errorCount} (${Object.entries(v.errors).map(([k, n]) => `${k} ${n}`).join(', ')})`,
    ]),
  );
}

function sharesTable(results, summaries) {
  const names = results.fleet.map((d) => d.name);
  return mdTable(['strategy', ...names], summaries.map((v) => [v.name, ...names.map((n) => fmtPct(v.shares[n]))]));
}

function fleetTable(results) {
  return mdTable(
    ['deployment', 'class', 'speed', 'prefill / token', 'step base', 'step / running seq', 'max batch', 'KV tokens', 'prefix-cache blocks', 'price in / out ($ per M)'],
    results.fleet.map((d) => {
      const p = d.params;
      return [d.name, d.class, `${p.speed}×`, `${(p.prefillMsPerToken / p.speed).toFixed(2)} ms`, `${(p.decodeBaseMs / p.speed).toFixed(1)} ms`, `${(p.decodeMsPerSeq / p.speed).toFixed(2)} ms`, String(p.maxBatch), p.kvCapacityTokens.toLocaleString('en-US'), p.prefixCacheBlocks.toLocaleString('en-US'), `${d.price.input} / ${d.price.output}`];
    }),
  );
}

function workloadLine(results) {
  const w = results.workload;
  const reqs = w.requests;
  const interactive = reqs.filter((q) => q[Q.interactive]).length;
  const prompt = summarize(reqs.map((q) => q[Q.promptTokens]));
  const output = summarize(reqs.map((q) => q[Q.maxTokens]));
  return `${reqs.length} requests over ${(w.durationMs / 1000).toFixed(0)} s (seed ${w.seed}; ${(reqs.length / (w.durationMs / 1000)).toFixed(1)} req/s on average, ${w.options.baseRatePerSec} req/s between bursts and ${w.options.burstRatePerSec} req/s in them), ${interactive} interactive with SLO headers and ${reqs.length - interactive} batch-like; prompt tokens p50 ${Math.round(prompt.p50)} / p99 ${Math.round(prompt.p99)}, output tokens p50 ${Math.round(output.p50)} / p99 ${Math.round(output.p99)}; ${w.options.tenants} tenants with ${w.options.systemPromptsPerTenant} shared system prompts each; SLOs per tenant ${w.options.slos.map((s) => `TTFT ≤ ${s.ttftMs} ms and TPOT ≤ ${s.tpotMs} ms`).join(', or ')}.`;
}

function goalLines(results) {
  return evaluateGoals(results)
    .map((g) => `- ${g.met === undefined ? 'not measured' : g.met ? '**met**' : '**not met**'}: ${g.text}${g.value ? ` — ${g.value}` : ''}.`)
    .join('\n');
}

function variantList(results) {
  return results.variants.map((v) => `\`${v.name}\`${v.hedge ? ` (hedge after ${v.hedge.afterMs === 'p95' ? 'the p95 TTFT' : `${v.hedge.afterMs} ms`}, at most ${v.hedge.maxPercent} %)` : ''}`).join(', ');
}

/** The "## Benchmark" section of docs/routing.md (ends with a newline). `notes` is prose kept in bench/routing/analysis.md. */
export function renderSection(results, notes = '') {
  const summaries = summarizeAll(results);
  const m = results.machine;
  return `## Benchmark

Generated by \`${results.command}\` (bench/routing/run.mjs) on ${m.cores} cores, ${m.cpuModel}, ${m.platform}, Node ${m.node}
(${results.pinning}), from ${results.startedAt} to ${results.finishedAt}; load average ${m.loadAvgStart.toFixed(2)} at the start, ${m.loadAvgEnd.toFixed(2)} at the end.
Raw results: \`bench/routing/results/latest.raw.json\`; \`npm run bench:routing -- --report-from FILE\` re-renders this section.

Each strategy (${variantList(results)}) gets the same workload on a fresh, cold fleet of four
simulated vLLM servers (\`fake-upstream --dialect vllm-sim\`) behind one alias \`chat\`, replayed open
loop: every request is sent at its arrival time whatever the others are doing, streamed, and timed
from that time. Requests unfinished ${(results.cutoffMs / 1000).toFixed(0)} s after the start are cut off and count as errors.

**Workload:** ${workloadLine(results)}

**Fleet:**

${fleetTable(results)}

Why this shape: a slow server has about a third of a fast one's capacity (each step twice as
slow, half the batch, a third of the KV cache), so spreading requests evenly (\`round_robin\`)
overloads the slow pair once the fleet is past ~40 % of its capacity, and herding on the fastest
measured server overloads the fast pair in bursts. The workload's mean rate (≈ 6 req/s) is about
60 % of the fleet's capacity (≈ 10 req/s of this mix, estimated from the step costs); its bursts
(12 req/s, ≈ 2 s each) exceed the fast pair's capacity (≈ 7 req/s) and briefly the whole fleet's, so queues form in bursts and drain between them: the strategies differ in where a burst queues.
As in vLLM without chunked prefill, a server's step includes the prefill of the sequences it
admits, so a long uncached prompt stalls every running stream there; the tenants' system prompts
(12 of ≈ 1,500 tokens) fit in a fast server's prefix cache but not in a slow one's, so where a
prompt goes decides whether its prefill is paid again.

### Results

${resultsTable(summaries)}

TTFT is the time to the first content token, e2e the time to the end of the stream, TPOT the time
per output token after the first (all client-side, over completed requests). SLO met: the share of
interactive requests whose TTFT and TPOT both met their headers' objectives (errors miss).
Goodput: SLO-meeting requests per second of workload. Cost: the gateway's \`usage.cost_usd\` (usage ×
the target's configured price) per 1,000 completed requests. Prefix hits: the fleet's prefix-cache hit rate, prompt tokens served from
the cache over prompt tokens looked up, summed over the four servers' counters.

![TTFT and end-to-end latency per strategy](routing-benchmark.svg)

**Where the requests went** (share of completed requests per deployment):

${sharesTable(results, summaries)}

### Goals (issue 14)

${goalLines(results)}
${notes.trim() ? `\n${notes.trim()}\n` : ''}`;
}

/** `doc` with its "## Benchmark" section (to the next `## ` heading or the end) replaced by `section`. */
export function replaceSection(doc, section) {
  const start = doc.indexOf('\n## Benchmark\n');
  if (start < 0) throw new Error('docs/routing.md has no "## Benchmark" section');
  const next = doc.indexOf('\n## ', start + 1);
  return `${doc.slice(0, start + 1)}${section}${next < 0 ? '' : `\n${doc.slice(next + 1)}`}`;
}

/** The "## Benchmark" section of a document, as replaceSection would have written it. */
export function extractSection(doc) {
  const start = doc.indexOf('\n## Benchmark\n');
  if (start < 0) return undefined;
  const next = doc.indexOf('\n## ', start + 1);
  return next < 0 ? doc.slice(start + 1) : doc.slice(start + 1, next);
}

/** Two panels of bars per strategy: TTFT p50/p90 and end-to-end p50/p90 (log ms), SLO attainment under each label. */
export function renderSvg(results) {
  const summaries = summarizeAll(results);
  const W = 960;
  const panelH = 210;
  const L = 70;
  const Rm = 20;
  const T = 50;
  const labelH = 60;
  const H = T + 2 * (panelH + labelH) + 20;
  const slot = (W - L - Rm) / Math.max(1, summaries.length);
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${L}" y="20" font-size="14" font-weight="bold">Routing strategies on a heterogeneous vllm-sim fleet (same workload each)</text>`);
  const panels = [
    { title: 'Time to first token', key: 'ttftMs', colors: ['#9ecae1', '#3182bd'] },
    { title: 'End-to-end latency', key: 'e2eMs', colors: ['#fdae6b', '#e6550d'] },
  ];
  panels.forEach((panel, pi) => {
    const top = T + pi * (panelH + labelH);
    const bottom = top + panelH;
    const values = summaries.flatMap((v) => [v[panel.key].p50, v[panel.key].p90]).filter((x) => Number.isFinite(x) && x > 0);
    // Log scale: one strategy's queue (tens of seconds) must not flatten the others' 100 ms bars.
    const y0 = Math.floor(Math.log10(Math.min(100, ...values)));
    const y1 = Math.ceil(Math.log10(Math.max(1000, ...values)));
    const py = (v) => bottom - ((Math.log10(Math.max(v, 10 ** y0)) - y0) / (y1 - y0)) * (panelH - 20);
    parts.push(`<text x="${L}" y="${top - 6}" font-weight="bold">${panel.title} (light p50, dark p90; log scale)</text>`);
    for (let e = y0; e <= y1; e++) {
      const y = py(10 ** e);
      parts.push(`<line x1="${L}" y1="${y.toFixed(1)}" x2="${W - Rm}" y2="${y.toFixed(1)}" stroke="#ddd"/>`);
      parts.push(`<text x="${L - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end">${fmtMs(10 ** e)}</text>`);
    }
    summaries.forEach((v, i) => {
      const x0 = L + i * slot + slot * 0.2;
      const bw = slot * 0.3;
      [v[panel.key].p50, v[panel.key].p90].forEach((value, j) => {
        if (!Number.isFinite(value)) return;
        const y = py(value);
        parts.push(`<rect x="${(x0 + j * bw).toFixed(1)}" y="${y.toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${(bottom - y).toFixed(1)}" fill="${panel.colors[j]}"><title>${v.name} ${j === 0 ? 'p50' : 'p90'} ${fmtMs(value)}</title></rect>`);
      });
      const cx = L + i * slot + slot / 2;
      // A variant's name on two lines (strategy, then "+hedge"), so nine fit side by side.
      const [strategy, variantSuffix] = v.name.split('+');
      parts.push(`<text x="${cx.toFixed(1)}" y="${bottom + 14}" text-anchor="middle" font-size="11">${strategy}</text>`);
      if (variantSuffix) parts.push(`<text x="${cx.toFixed(1)}" y="${bottom + 27}" text-anchor="middle" font-size="11">+${variantSuffix}</text>`);
      if (pi === 0) parts.push(`<text x="${cx.toFixed(1)}" y="${bottom + 42}" text-anchor="middle" font-size="11" fill="#555">SLO met ${fmtPct(v.sloAttainment)}</text>`);
    });
    parts.push(`<line x1="${L}" y1="${bottom}" x2="${W - Rm}" y2="${bottom}" stroke="#333"/>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** A compact table for the terminal, with the goals. */
export function renderConsoleTable(results) {
  const rows = [['strategy', 'TTFT p50', 'TTFT p90', 'e2e p50', 'e2e p99', 'SLO met', 'goodput', 'prefix', 'errors']];
  for (const v of summarizeAll(results)) rows.push([v.name, fmtMs(v.ttftMs.p50), fmtMs(v.ttftMs.p90), fmtMs(v.e2eMs.p50), fmtMs(v.e2eMs.p99), fmtPct(v.sloAttainment), `${v.goodputPerSec.toFixed(2)}/s`, fmtPct(v.prefixHitRate), String(v.errorCount)]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  '));
  const goalText = evaluateGoals(results).map((g) => `${g.met === undefined ? '-' : g.met ? '✓' : '✗'} ${g.text}: ${g.value ?? 'not measured'}`);
  return [...lines, '', ...goalText].join('\n');
}
