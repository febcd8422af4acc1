// Turns a results object (bench/results/latest.raw.json) into docs/performance.md, the SVG chart
// and the console table. Pure functions: no I/O, so the report can be unit-tested.
import { renderSweepSvgs, renderSweepsSection } from './report-sweeps.mjs';

const order = ['direct', 'floor', 'baseline', 'ours', 'ours-traced', 'ours-db', 'portkey'];
const colors = { direct: '#7f7f7f', floor: '#1f77b4', baseline: '#9467bd', ours: '#2ca02c', portkey: '#d62728' };

const MB = 1024 * 1024;

/** Issue 17's goals: each judged against the floor (the plain node:http pass-through) measured in the same run. */
export const goals = [
  { id: 'throughput', text: "max throughput ≥ 1.0× the floor's, with auth, a token bucket per tenant, metrics, the access log and cost accounting on (every deployment target is priced in bench/lib/workload.mjs)" },
  { id: 'cpu', text: "CPU per request at 1,000 req/s ≤ the floor's at the same step" },
  { id: 'alloc', text: 'allocation per request ≤ 30 KB (max throughput)' },
  { id: 'c1', text: "added latency p50 at c=1 within 50 µs of the floor's" },
  { id: 'p99-1000', text: 'added latency p99 ≤ 1 ms at 1,000 req/s' },
  { id: 'ttfb', text: "stream: added time to first byte p50 within 200 µs of the floor's" },
  { id: 'idle-rss', text: 'idle RSS ≤ 60 MB' },
  { id: 'peak-rss', text: 'peak RSS under the max-throughput load ≤ 120 MB' },
];

export function fmtUs(us) {
  if (us === undefined || Number.isNaN(us)) return 'n/a';
  const sign = us < 0 ? '−' : '';
  const a = Math.abs(us);
  if (a >= 1_000_000) return `${sign}${(a / 1_000_000).toFixed(2)} s`;
  if (a >= 1000) return `${sign}${(a / 1000).toFixed(a >= 10_000 ? 1 : 2)} ms`;
  return `${sign}${Math.round(a)} µs`;
}

export function fmtBytes(b) {
  if (b === undefined || Number.isNaN(b)) return 'n/a';
  if (Math.abs(b) >= 1024 * 1024) return `${(b / 1024 / 1024).toFixed(1)} MB`;
  if (Math.abs(b) >= 1024) return `${(b / 1024).toFixed(1)} KB`;
  return `${Math.round(b)} B`;
}

function fmtInt(n) {
  return n === undefined || Number.isNaN(n) ? 'n/a' : Math.round(n).toLocaleString('en-US');
}

function ratio(a, b) {
  return a === undefined || b === undefined || !b ? 'n/a' : `${(a / b).toFixed(a / b >= 10 ? 0 : 2)}×`;
}

/** The latency step at an offered rate, if the target reached that step. */
export function stepAt(results, target, rate) {
  return results.phases.latency?.[target]?.find((s) => s.offered === rate);
}

/** The step at which a target saturated below `rate`, so that the latency phase never tried `rate` for it. */
function saturatedBelow(results, target, rate) {
  return results.phases.latency?.[target]?.find((s) => s.saturated && s.offered < rate);
}

/** Percentile of target minus the same percentile of direct at the same offered rate (µs). */
export function added(results, target, rate, key) {
  const t = stepAt(results, target, rate);
  const d = stepAt(results, 'direct', rate);
  if (!t || !d) return undefined;
  return t.latencyUs[key] - d.latencyUs[key];
}

/**
 * Each goal with our gateway's number, the floor's, and whether it holds: `met` true or false, or
 * undefined with `why` when the run cannot judge it (a target or step missing, a saturated
 * reference, an "added" below zero, which through a proxy can only be noise). Ours not measured
 * at all leaves `ours` undefined.
 */
export function evaluateGoals(results) {
  const p = results.phases;
  const judged = (ours, floor, met) => ({ ours, floor, met });
  const notJudged = (ours, floor, why) => ({ ours, floor, met: undefined, why });
  const notMeasured = (floor) => ({ ours: undefined, floor, met: undefined });
  const withRatio = (v, f) => (f ? `${fmtInt(v)} req/s (${ratio(v, f)} the floor)` : `${fmtInt(v)} req/s`);
  const errorsOf = (r) => (r.errors ?? 0) + (r.non2xx ?? 0);

  const throughput = () => {
    const o = p.max?.ours;
    const f = p.max?.floor;
    const floor = f ? `${fmtInt(f.requestsPerSec)} req/s` : undefined;
    if (!o) return notMeasured(floor);
    const ours = withRatio(o.requestsPerSec, f?.requestsPerSec);
    if (!f) return notJudged(ours, floor, 'the floor was not measured');
    // autocannon counts error answers as requests: a gateway refusing load must not look fast.
    if (errorsOf(o) > 0.005 * (o.total ?? o.requestsPerSec)) return notJudged(ours, floor, `ours answered ${fmtInt(errorsOf(o))} errors`);
    return judged(ours, floor, o.requestsPerSec >= f.requestsPerSec);
  };

  const cpu = () => {
    const o = stepAt(results, 'ours', 1000);
    const f = stepAt(results, 'floor', 1000);
    const floorBelow = saturatedBelow(results, 'floor', 1000);
    const floor = floorBelow ? `saturated at ${fmtInt(floorBelow.offered)} req/s` : f?.cpuUsPerRequest === undefined ? undefined : fmtUs(f.cpuUsPerRequest);
    const oursBelow = saturatedBelow(results, 'ours', 1000);
    if (oursBelow) return notJudged(`saturated at ${fmtInt(oursBelow.offered)} req/s`, floor, 'ours never reached 1,000 req/s');
    if (o?.cpuUsPerRequest === undefined) return notMeasured(floor);
    const ours = fmtUs(o.cpuUsPerRequest);
    if (floorBelow) return notJudged(ours, floor, 'the floor never reached 1,000 req/s');
    if (floor === undefined) return notJudged(ours, floor, 'the floor has no 1,000 req/s step');
    const sat = [['ours', o], ['the floor', f]].find(([, s]) => s.saturated);
    if (sat) return notJudged(ours, floor, `${sat[0]} saturated at 1,000 req/s`);
    return judged(ours, floor, o.cpuUsPerRequest <= f.cpuUsPerRequest);
  };

  const alloc = () => {
    const o = p.max?.ours?.allocBytesPerRequest;
    const f = p.max?.floor?.allocBytesPerRequest;
    const floor = f === undefined ? undefined : fmtBytes(f);
    return o === undefined ? notMeasured(floor) : judged(fmtBytes(o), floor, o <= 30 * 1024);
  };

  /** `phase[name][key].p50` over direct's, ours within `slackUs` of the floor's (c=1 and stream TTFB). */
  const addedOverFloor = (phase, key, slackUs) => {
    const d = phase?.direct?.[key]?.p50;
    const addedTo = (n) => (phase?.[n] && d !== undefined ? phase[n][key].p50 - d : undefined);
    const show = (n) => (phase?.[n] ? `${d === undefined ? '' : `${fmtUs(addedTo(n))} added, `}p50 ${fmtUs(phase[n][key].p50)}` : undefined);
    const ours = show('ours');
    const floor = show('floor');
    if (!phase?.ours) return notMeasured(floor);
    if (d === undefined) return notJudged(ours, floor, 'direct was not measured');
    if (!phase.floor) return notJudged(ours, floor, 'the floor was not measured');
    if (errorsOf(phase.ours) > 0) return notJudged(ours, floor, `ours answered ${fmtInt(errorsOf(phase.ours))} errors`);
    const a = addedTo('ours');
    const fa = addedTo('floor');
    const below = [['ours', a], ['the floor', fa]].find(([, v]) => v < 0);
    if (below) return notJudged(ours, floor, `${below[0]} below direct: too noisy to judge`);
    return judged(ours, floor, a <= fa + slackUs);
  };

  const p99 = () => {
    const o = stepAt(results, 'ours', 1000);
    const d = stepAt(results, 'direct', 1000);
    const a = added(results, 'ours', 1000, 'p99');
    const fa = added(results, 'floor', 1000, 'p99');
    const floorBelow = saturatedBelow(results, 'floor', 1000);
    const floor = floorBelow ? `saturated at ${fmtInt(floorBelow.offered)} req/s` : fa === undefined ? undefined : `${fmtUs(fa)} added`;
    // Ours unable to hold 1,000 req/s has missed the goal; a saturated reference says nothing.
    const oursBelow = saturatedBelow(results, 'ours', 1000);
    if (oursBelow) return judged(`saturated at ${fmtInt(oursBelow.offered)} req/s (${fmtInt(oursBelow.achieved)}/s served)`, floor, false);
    if (!o) return notMeasured(floor);
    if (!d) return notJudged(`p99 ${fmtUs(o.latencyUs.p99)}`, floor, 'direct has no 1,000 req/s step');
    const ours = `${fmtUs(a)} added${o.saturated ? ` (saturated: ${fmtInt(o.achieved)}/s served)` : ''}`;
    if (o.saturated) return judged(ours, floor, false);
    if (d.saturated) return notJudged(ours, floor, 'direct saturated at 1,000 req/s');
    if (a < 0) return notJudged(ours, floor, 'ours below direct: too noisy to judge');
    return judged(ours, floor, a <= 1000);
  };

  const rss = (snapshot, key, limit) => {
    const o = snapshot?.ours?.[key];
    const f = snapshot?.floor?.[key];
    const floor = f === undefined ? undefined : fmtBytes(f);
    return o === undefined ? notMeasured(floor) : judged(fmtBytes(o), floor, o <= limit);
  };

  const byId = {
    throughput: throughput(),
    cpu: cpu(),
    alloc: alloc(),
    c1: addedOverFloor(p.c1, 'latencyUs', 50),
    'p99-1000': p99(),
    ttfb: addedOverFloor(p.stream, 'ttfbUs', 200),
    'idle-rss': rss(p.idle, 'rss', 60 * MB),
    'peak-rss': rss(p.peakMaxLoad, 'maxRss', 120 * MB),
  };
  return goals.map((g) => ({ ...g, ...byId[g.id] }));
}

/** The verdict cell of a goal. */
function verdict(g) {
  if (g.met !== undefined) return g.met ? 'yes' : '**no**';
  return g.ours === undefined ? 'not measured' : `not judged: ${g.why}`;
}

function present(results) {
  return order.filter((n) => results.targets[n]);
}

export function mdTable(header, rows) {
  return [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function maxTable(results) {
  const m = results.phases.max ?? {};
  const pk = m.portkey?.requestsPerSec;
  const fl = m.floor?.requestsPerSec;
  return mdTable(
    ['target', 'req/s', 'vs Portkey', 'vs floor', 'p50', 'p99', 'CPU / req', 'alloc / req', 'errors'],
    present(results).map((n) => {
      const r = m[n];
      if (!r) return [n, 'n/a', '', '', '', '', '', '', ''];
      return [n, fmtInt(r.requestsPerSec), ratio(r.requestsPerSec, pk), ratio(r.requestsPerSec, fl), fmtUs(r.latencyMs.p50 * 1000), fmtUs(r.latencyMs.p99 * 1000), fmtUs(r.cpuUsPerRequest), fmtBytes(r.allocBytesPerRequest), fmtInt((r.errors ?? 0) + (r.non2xx ?? 0))];
    }),
  );
}

/** How each target was warmed up before its max-phase window (runs before the warm-up note have none). */
function warmupNote(results) {
  const { maxWarmupRequests: n, maxWarmupSeconds: s, maxWarmupCapSeconds: cap } = results.plan;
  if (!n) return '';
  const m = results.phases.max ?? {};
  const done = present(results)
    .filter((t) => m[t]?.warmup)
    .map((t) => `${t} ${fmtInt(m[t].warmup.requests)} in ${m[t].warmup.seconds.toFixed(1)} s`);
  return `Before its window each target got the same load for at least ${fmtInt(n)} requests and ${s} s (at most ${cap} s), so a slow target is not measured while V8 is still optimising it${done.length ? ` (here: ${done.join(', ')})` : ''}.\n\n`;
}

function rates(results) {
  const set = new Set();
  for (const steps of Object.values(results.phases.latency ?? {})) for (const s of steps) set.add(s.offered);
  return [...set].sort((a, b) => a - b);
}

function latencyTable(results) {
  const names = present(results);
  const header = ['offered req/s', ...names.flatMap((n) => (n === 'direct' ? ['direct p50', 'direct p99'] : [`${n} +p50`, `${n} +p99`]))];
  const rows = rates(results).map((rate) => [
    fmtInt(rate),
    ...names.flatMap((n) => {
      const s = stepAt(results, n, rate);
      if (!s) return ['—', '—'];
      const sat = s.saturated ? ` (sat. ${fmtInt(s.achieved)}/s)` : '';
      if (n === 'direct') return [fmtUs(s.latencyUs.p50), fmtUs(s.latencyUs.p99) + sat];
      return [fmtUs(added(results, n, rate, 'p50')), fmtUs(added(results, n, rate, 'p99')) + sat];
    }),
  ]);
  return mdTable(header, rows);
}

function costTable(results) {
  const names = present(results).filter((n) => n !== 'direct');
  return mdTable(
    ['offered req/s', ...names.flatMap((n) => [`${n} CPU/req`, `${n} alloc/req`, `${n} CPU busy`])],
    rates(results)
      .filter((r) => r <= 4000)
      .map((rate) => [
        fmtInt(rate),
        ...names.flatMap((n) => {
          const s = stepAt(results, n, rate);
          return s ? [fmtUs(s.cpuUsPerRequest), fmtBytes(s.allocBytesPerRequest), s.cpuBusy === undefined ? 'n/a' : `${Math.round(s.cpuBusy * 100)} %`] : ['—', '—', '—'];
        }),
      ]),
  );
}

function streamTable(results) {
  const s = results.phases.stream ?? {};
  const d = s.direct;
  return mdTable(
    ['target', 'TTFB p50', 'TTFB p99', 'added TTFB p50', 'total p50', 'total p99', 'CPU / stream', 'alloc / stream', 'errors'],
    present(results).map((n) => {
      const r = s[n];
      if (!r) return [n, 'n/a', '', '', '', '', '', '', ''];
      return [n, fmtUs(r.ttfbUs.p50), fmtUs(r.ttfbUs.p99), n === 'direct' || !d ? '—' : fmtUs(r.ttfbUs.p50 - d.ttfbUs.p50), fmtUs(r.latencyUs.p50), fmtUs(r.latencyUs.p99), fmtUs(r.cpuUsPerRequest), fmtBytes(r.allocBytesPerRequest), fmtInt(r.errors)];
    }),
  );
}

function memoryTable(results) {
  const p = results.phases;
  const o = p.openStreams ?? {};
  // Runs from before idle and max-load RSS were read have no snapshot: say so, not "n/a".
  const snap = (phase, n, key) => (phase ? fmtBytes(phase[n]?.[key]) : 'not measured');
  return mdTable(
    ['target', 'idle RSS', 'peak RSS, max-throughput load', 'peak RSS, request phases', 'peak RSS, whole run', 'streams open at once', 'RSS / open stream', 'V8 heap / open stream', 'not opened'],
    present(results)
      .filter((n) => n !== 'direct')
      .map((n) => {
        const r = o[n];
        return [n, snap(p.idle, n, 'rss'), snap(p.peakMaxLoad, n, 'maxRss'), fmtBytes(p.peakRequestLoad?.[n]?.maxRss), fmtBytes(p.peakAll?.[n]?.maxRss), r ? `${fmtInt(r.open)} / ${fmtInt(r.requested)}` : 'n/a', fmtBytes(r?.bytesPerStream), fmtBytes(r?.heapBytesPerStream), fmtInt(r?.errors)];
      }),
  );
}

function c1Section(results) {
  const c1 = results.phases.c1;
  if (!c1) return '## Added latency at c=1\n\nNot measured in this run (`--phases c1`).\n';
  const d = c1.direct;
  const table = mdTable(
    ['target', 'requests', 'p50', 'p90', 'p99', 'added p50', 'added p99', 'CPU / req', 'alloc / req', 'errors'],
    present(results).map((n) => {
      const r = c1[n];
      if (!r) return [n, 'not measured', '', '', '', '', '', '', '', ''];
      const add = (key) => (n === 'direct' ? '—' : d ? fmtUs(r.latencyUs[key] - d.latencyUs[key]) : 'n/a');
      return [n, fmtInt(r.ok), fmtUs(r.latencyUs.p50), fmtUs(r.latencyUs.p90), fmtUs(r.latencyUs.p99), add('p50'), add('p99'), fmtUs(r.cpuUsPerRequest), fmtBytes(r.allocBytesPerRequest), fmtInt(r.errors)];
    }),
  );
  return `## Added latency at c=1 (one connection, closed loop, ${results.plan.c1Seconds} s)

${table}

One connection sends each request as soon as the previous answer was read (bench/lib/load-serial.mjs,
undici), after ${results.plan.c1WarmupSeconds} s of the same: nothing queues, so this is the time a target adds to one
request on an idle path. Latency is timed with \`process.hrtime\` in µs (autocannon's whole
milliseconds are too coarse here); "added" is the target's percentile minus direct's.
`;
}

/** The 1-worker row of our gateway in the same CPU layout: what "vs 1 worker" divides by. */
function oneWorker(rows, layout) {
  return rows.find((r) => r.target === 'ours' && r.workers === 1 && r.layout === layout);
}

function scalingTable(results) {
  const sc = results.phases.scaling;
  const short = Object.fromEntries(sc.layouts.map((l) => [l.name, l.short ?? l.name]));
  return mdTable(
    ['target', 'workers', 'pinning', 'req/s', 'vs 1 worker', 'p50', 'p99', 'CPU / req (all processes)', 'of which primary', 'CPUs used', 'errors'],
    sc.rows.map((r) => {
      const ours = r.target === 'ours';
      return [
        r.target,
        ours ? String(r.workers) : '—',
        short[r.layout] ?? r.layout,
        fmtInt(r.requestsPerSec),
        ours ? ratio(r.requestsPerSec, oneWorker(sc.rows, r.layout)?.requestsPerSec) : '—',
        fmtUs(r.latencyMs.p50 * 1000),
        fmtUs(r.latencyMs.p99 * 1000),
        r.cpuUsPerRequest === undefined ? '—' : fmtUs(r.cpuUsPerRequest) + (r.processesChanged ? ' (a process exited)' : ''),
        r.primaryCpuUsPerRequest === undefined ? '—' : fmtUs(r.primaryCpuUsPerRequest),
        r.cpuCores === undefined ? '—' : r.cpuCores.toFixed(2),
        fmtInt((r.errors ?? 0) + (r.non2xx ?? 0)),
      ];
    }),
  );
}

/** One sentence: the best 2-worker result against one worker on its own core. */
function scalingHeadline(results) {
  const rows = results.phases.scaling.rows;
  const alone = oneWorker(rows, 'pinned') ?? oneWorker(rows, 'unpinned');
  const two = rows.filter((r) => r.target === 'ours' && r.workers === 2).sort((a, b) => b.requestsPerSec - a.requestsPerSec)[0];
  if (!alone || !two) return '';
  const where = results.phases.scaling.layouts.find((l) => l.name === two.layout)?.short ?? two.layout;
  return `\nOn this machine the best of \`--workers 2\` (${where}) served ${fmtInt(two.requestsPerSec)} req/s, ${ratio(two.requestsPerSec, alone.requestsPerSec)} one worker on its own core (${fmtInt(alone.requestsPerSec)} req/s).\n`;
}

function scalingSection(results) {
  const sc = results.phases.scaling;
  if (!sc) return '## Multi-core scaling\n\nNot measured in this run (`--phases scaling`).\n';
  const layouts = sc.layouts.map((l) => `- **${l.short ?? l.name}**: ${l.label}.${l.name === 'pinned' ? ' The 2 workers and their primary share that one core, so their ratio to 1 worker is what the cluster costs at equal CPU, not a speed-up.' : l.name === 'shared' ? ' The only way 2 workers get 2 cores here, at the price of sharing them with the load generator and the fake upstream: the ratio is what a second worker buys on this machine, not what it would buy with a core per worker and others for the load.' : ''}`);
  return `## Multi-core scaling (\`serve --workers N\`, ${sc.connections} connections, closed loop, ${sc.seconds} s)

${scalingTable(results)}
${scalingHeadline(results)}
The load, body and tenants are the maximum-throughput phase's. "1 worker" is \`serve --workers 1\`,
which runs the plain single-process server (no primary, rate limiter in the process): what runs
without \`--workers\`. With 2 workers a primary forks them, accepts the connections and hands
them to the workers in turn, and answers every rate-limit decision (and concurrency slot) over IPC. The machine has
${results.machine.cores} cores and the load generator and fake upstream need CPU too, so the gateway cannot have a core
per worker; each row says where its processes ran:

${layouts.join('\n')}

Each row's gateway is started fresh, without the probe, and warmed up ${sc.warmupRequests ? `with at least ${fmtInt(sc.warmupRequests)} requests and ${sc.warmupSeconds} s of the same load per worker (as the maximum-throughput phase, times the workers)` : `for ${sc.warmupSeconds ?? 'n/a'} s per worker`}.
CPU per request is the CPU time (user + system, all threads) of every process of the gateway,
primary included, read from ${sc.cpuFrom ?? 'n/a (no /proc on this system)'} before and after the step, divided by the requests
served; "CPUs used" is that time over the step's wall time (the load generator's start-up
included, so it reads slightly low). This is measured from outside for every row, so the
1-worker numbers differ a little from the probe's in the maximum-throughput table.
`;
}

function goalTable(results) {
  return mdTable(
    ['goal (llm-gateway)', 'ours', 'floor', 'met'],
    evaluateGoals(results).map((g) => [g.text, g.ours ?? 'not measured', g.floor ?? 'not measured', verdict(g)]),
  );
}

/** The whole docs/performance.md. `notes` is the hand-kept analysis kept between runs (below the marker). */
export function renderReport(results, notes = '') {
  const m = results.machine;
  const t = results.targets;
  const command = results.quick ? 'npm run bench -- --quick' : 'npm run bench';
  return `<!-- Generated by \`${command}\` (bench/run.mjs). Do not edit by hand: re-run the benchmark. -->
# Performance

Measured ${results.startedAt.slice(0, 16).replace('T', ' ')} UTC with \`${command}\`${results.quick ? ' (the quick smoke run: short steps, treat as indicative only)' : ''}.
Machine: ${m.cores} cores, ${m.cpuModel}, ${m.platform}, Node ${m.node}. Pinning: ${results.pinning}.${m.loadAvgStart === undefined ? '' : `\n1-minute load average ${m.loadAvgStart.toFixed(1)} at the start and ${(m.loadAvgEnd ?? Number.NaN).toFixed(1)} at the end${m.loadAvgStart > m.cores ? ': **the machine was shared with other work, so absolute numbers are inflated and only the same-run ratios mean much**' : ''}.`}
Load generators: autocannon ${m.autocannon} (closed loop), bench/lib/load-open.mjs (open loop, undici) and bench/lib/load-serial.mjs (c=1, undici).

Every number below comes from one run in which the targets took turns, phase by phase and step
by step, so the ratios compare like with like even when the machine is busy.

## Targets

${mdTable(['name', 'what', 'set-up'], present(results).map((n) => [n, t[n].label, t[n].notes]))}

The upstream is a zero-latency fake (bench/lib/fake-upstream.mjs) listening on 3 ports, with a
~${results.bodyBytes ?? 260}-byte chat request and a ~430-byte completion. Our gateway runs with
auth on (100 tenants), per-tenant request and token limits on every request, Prometheus metrics,
its JSON access log (to a pipe), cost accounting (every target priced) and 3 deployments behind one alias.

## Goals

${goalTable(results)}

Each goal is judged against the floor (the plain node:http pass-through) measured in the same run.
"Added" is a target's number minus direct's (the fake upstream without a proxy) in the same
phase. "Not judged" is a goal the run cannot decide: a target or step missing, a reference
that saturated, or an added time below zero, which through a proxy can only be noise.

## Maximum throughput (${results.plan.connections} connections, closed loop, ${results.plan.maxSeconds} s)

${maxTable(results)}

${warmupNote(results)}CPU and allocation per request are measured inside each gateway process (bench/lib/probe.mjs:
\`process.cpuUsage()\` deltas, and V8 heap growth between GCs from \`v8.GCProfiler\`; Buffer
memory outside the V8 heap is not counted).

## Latency added at fixed offered rates (open loop)

![latency against offered load](performance-latency.svg)

Latency is measured from when each request was *scheduled*, so queueing in a saturated
gateway shows up in full. "+p50" is the target's p50 minus the direct p50 at the same rate
(the same for p99). "sat." marks the step where the target could not keep up (under 95 % of
the offered rate served, errors, or p99 over 250 ms); higher rates were not tried for it.

${latencyTable(results)}

### Gateway cost per request at each rate

${costTable(results)}

"CPU busy" is the share of one core the gateway process used during the step.

## Streaming (${results.plan.streamRate} streams/s, 20 chunks 1 ms apart, then usage and [DONE])

${streamTable(results)}

${c1Section(results)}
## Memory

${memoryTable(results)}

Idle RSS is read about 1 s after the sanity check's few requests, before any load; the peak under
the max-throughput load is the process's peak RSS read right after that phase; "request phases"
is the peak after the latency, streaming and c=1 phases, "whole run" after the open streams.

Open streams: ${results.plan.openStreams.toLocaleString('en-US')} streaming requests opened at once (chunks 500 ms apart, so they
stay open); RSS and V8 heap are read when every stream has delivered its first chunk (or after
30 s), minus the same just before; then the client disconnects them all.

${scalingSection(results)}
${renderSweepsSection(results)}${notes ? `## Analysis\n\n${notes.trim()}\n` : ''}`;
}

/**
 * Every file of the report by its path from the repository root: what `npm run bench` writes and
 * what test/bench-report.test.ts compares with the committed raw results' rendering.
 */
export function reportFiles(results, notes = '') {
  const files = { 'docs/performance.md': renderReport(results, notes), 'docs/performance-latency.svg': renderSvg(results) };
  for (const [name, svg] of Object.entries(renderSweepSvgs(results))) files[`docs/performance-scaling-${name}.svg`] = svg;
  return files;
}

/** Latency (log µs) against offered load (log req/s): solid p99, dashed p50, per target. */
export function renderSvg(results) {
  const W = 760;
  const H = 440;
  const L = 70;
  const R = 150;
  const T = 40;
  const B = 50;
  const all = [];
  for (const steps of Object.values(results.phases.latency ?? {})) for (const s of steps) all.push(s);
  const xs = all.map((s) => s.offered);
  const ys = all.flatMap((s) => [s.latencyUs.p50, s.latencyUs.p99]).filter((v) => v > 0);
  const x0 = Math.log10(Math.min(...xs, 250));
  const x1 = Math.log10(Math.max(...xs, 1000));
  const y0 = Math.floor(Math.log10(Math.min(...ys, 100)));
  const y1 = Math.ceil(Math.log10(Math.max(...ys, 1000)));
  const px = (v) => L + ((Math.log10(v) - x0) / (x1 - x0 || 1)) * (W - L - R);
  const py = (v) => H - B - ((Math.log10(Math.max(v, 1)) - y0) / (y1 - y0 || 1)) * (H - T - B);
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${L}" y="22" font-size="14" font-weight="bold">Latency against offered load (open loop; solid p99, dashed p50)</text>`);
  for (let e = y0; e <= y1; e++) {
    const y = py(10 ** e);
    parts.push(`<line x1="${L}" y1="${y.toFixed(1)}" x2="${W - R}" y2="${y.toFixed(1)}" stroke="#ddd"/>`);
    parts.push(`<text x="${L - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end">${fmtUs(10 ** e)}</text>`);
  }
  for (const r of [...new Set(xs)].sort((a, b) => a - b)) {
    const x = px(r);
    parts.push(`<line x1="${x.toFixed(1)}" y1="${T}" x2="${x.toFixed(1)}" y2="${H - B}" stroke="#eee"/>`);
    parts.push(`<text x="${x.toFixed(1)}" y="${H - B + 16}" text-anchor="middle">${r >= 1000 ? `${r / 1000}k` : r}</text>`);
  }
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">offered load (requests per second, log scale)</text>`);
  parts.push(`<text transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">latency (log scale)</text>`);
  let legendY = T + 10;
  for (const n of present(results)) {
    const steps = (results.phases.latency?.[n] ?? []).slice().sort((a, b) => a.offered - b.offered);
    if (steps.length === 0) continue;
    const c = colors[n];
    for (const [key, dash] of [['p99', ''], ['p50', ' stroke-dasharray="5 4"']]) {
      const pts = steps.map((s) => `${px(s.offered).toFixed(1)},${py(s.latencyUs[key]).toFixed(1)}`).join(' ');
      parts.push(`<polyline points="${pts}" fill="none" stroke="${c}" stroke-width="2"${dash}/>`);
    }
    for (const s of steps) {
      const x = px(s.offered);
      const y = py(s.latencyUs.p99);
      parts.push(s.saturated ? `<text x="${x.toFixed(1)}" y="${(y + 4).toFixed(1)}" text-anchor="middle" fill="${c}" font-weight="bold">×</text>` : `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3" fill="${c}"/>`);
    }
    parts.push(`<line x1="${W - R + 15}" y1="${legendY}" x2="${W - R + 40}" y2="${legendY}" stroke="${c}" stroke-width="2"/>`);
    parts.push(`<text x="${W - R + 46}" y="${legendY + 4}">${n}</text>`);
    legendY += 20;
  }
  parts.push(`<text x="${W - R + 15}" y="${legendY + 10}" fill="#555">× = saturated</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** A compact side-by-side table for the terminal. */
export function renderConsoleTable(results) {
  const names = present(results);
  const p = results.phases;
  const rows = [['', ...names]];
  rows.push(['max req/s (50 conn)', ...names.map((n) => fmtInt(p.max?.[n]?.requestsPerSec))]);
  rows.push(['CPU / req (max)', ...names.map((n) => fmtUs(p.max?.[n]?.cpuUsPerRequest))]);
  rows.push(['alloc / req (max)', ...names.map((n) => fmtBytes(p.max?.[n]?.allocBytesPerRequest))]);
  for (const rate of rates(results)) {
    rows.push([`${rate}/s p50 | p99`, ...names.map((n) => {
      const s = stepAt(results, n, rate);
      return s ? `${fmtUs(s.latencyUs.p50)} | ${fmtUs(s.latencyUs.p99)}${s.saturated ? ' sat' : ''}` : '—';
    })]);
  }
  rows.push(['stream TTFB p50', ...names.map((n) => fmtUs(p.stream?.[n]?.ttfbUs.p50))]);
  rows.push(['stream total p50', ...names.map((n) => fmtUs(p.stream?.[n]?.latencyUs.p50))]);
  rows.push(['c=1 p50 | p99', ...names.map((n) => (p.c1?.[n] ? `${fmtUs(p.c1[n].latencyUs.p50)} | ${fmtUs(p.c1[n].latencyUs.p99)}` : '—'))]);
  rows.push(['idle RSS', ...names.map((n) => fmtBytes(p.idle?.[n]?.rss))]);
  rows.push(['peak RSS (max load)', ...names.map((n) => fmtBytes(p.peakMaxLoad?.[n]?.maxRss))]);
  rows.push(['peak RSS (requests)', ...names.map((n) => fmtBytes(p.peakRequestLoad?.[n]?.maxRss))]);
  rows.push(['RSS / open stream', ...names.map((n) => fmtBytes(p.openStreams?.[n]?.bytesPerStream))]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const lines = rows.map((r) => r.map((c, i) => String(c).padEnd(widths[i])).join('  '));
  const sc = p.scaling?.rows ?? [];
  const scalingLines = sc.map((r) => `scaling ${r.layout} ${r.target}${r.target === 'ours' ? ` ×${r.workers}` : ''}: ${fmtInt(r.requestsPerSec)} req/s${r.target === 'ours' ? ` (${ratio(r.requestsPerSec, oneWorker(sc, r.layout)?.requestsPerSec)} 1 worker)` : ''}, CPU / req ${fmtUs(r.cpuUsPerRequest)}`);
  const goalLines = evaluateGoals(results).map((g) => `${g.met === undefined ? '-' : g.met ? '✓' : '✗'} ${g.text}: ours ${g.ours ?? 'not measured'}, floor ${g.floor ?? 'not measured'}${g.met === undefined ? ` (${verdict(g)})` : ''}`);
  return [...lines, ...(scalingLines.length > 0 ? ['', ...scalingLines] : []), '', ...goalLines].join('\n');
}
