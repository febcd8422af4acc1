// Preloaded into every process under test (`node --import probe.mjs …`, spawned with an IPC
// channel) so each is measured the same way from the inside, without touching its code:
//   {cmd:'start'}  remember CPU time and heap use, start a v8.GCProfiler;
//   {cmd:'stop'}   answer the CPU time used since start (process.cpuUsage, user + system), the
//                  bytes allocated on the V8 heap since start, GC pause time, and memory.
// Allocation: V8 exposes no running total, so it is the growth of used heap between GCs as the
// profiler records them: (used before GC₁ − used at start) + Σ(used before GCᵢ − used after
// GCᵢ₋₁) + (used now − used after the last GC). Buffer backing stores (off-heap) are not counted.
// {cmd:'start', eventLoop:true} also samples the event-loop delay until 'stop' (off by default: its
// 10 ms timer is work the other phases do not want in their CPU numbers).
// {cmd:'memory', gc:true} runs a full garbage collection first, so the heap read is what is live.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { GCProfiler, getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let session;

/** A full GC without starting the process with --expose-gc (only when a command asks for it). */
function collectGarbage() {
  setFlagsFromString('--expose-gc');
  runInNewContext('gc')();
}

function readMemory(gc) {
  if (gc) collectGarbage();
  return { ok: true, ...memory() };
}

function memory() {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, maxRss: process.resourceUsage().maxRSS * 1024 };
}

// The histogram records the interval between the ticks of a timer repeating every
// `loopResolutionMs`, so an idle loop reads ≈ that; the lateness is the recorded value minus it.
const loopResolutionMs = 10;

function start(eventLoop) {
  const profiler = new GCProfiler();
  profiler.start();
  const loop = eventLoop ? monitorEventLoopDelay({ resolution: loopResolutionMs }) : undefined;
  loop?.enable();
  session = { profiler, loop, cpu: process.cpuUsage(), used: getHeapStatistics().used_heap_size, hr: process.hrtime.bigint() };
  return { ok: true, ...memory() };
}

/** Lateness of the event loop (ms) over the session: p50, p99, max; undefined without samples. */
function eventLoopDelay(loop) {
  loop.disable();
  if (loop.count === 0) return undefined;
  const late = (ns) => Math.max(0, ns / 1e6 - loopResolutionMs);
  return { p50Ms: late(loop.percentile(50)), p99Ms: late(loop.percentile(99)), maxMs: late(loop.max), samples: loop.count, resolutionMs: loopResolutionMs };
}

function stop() {
  if (!session) return { ok: false };
  const { profiler, loop, cpu, used, hr } = session;
  session = undefined;
  const nowUsed = getHeapStatistics().used_heap_size;
  const stats = profiler.stop()?.statistics ?? [];
  let allocated = 0;
  let prev = used;
  let gcMicros = 0;
  for (const s of stats) {
    allocated += Math.max(0, s.beforeGC.heapStatistics.usedHeapSize - prev);
    prev = s.afterGC.heapStatistics.usedHeapSize;
    gcMicros += s.cost;
  }
  allocated += Math.max(0, nowUsed - prev);
  const d = process.cpuUsage(cpu);
  return { ok: true, cpuMicros: d.user + d.system, allocatedBytes: allocated, gcCount: stats.length, gcMicros, wallMs: Number(process.hrtime.bigint() - hr) / 1e6, ...(loop ? { eventLoop: eventLoopDelay(loop) } : {}), ...memory() };
}

// CPU profiles of the steady state only (startup excluded): {cmd:'cpuprof-start'} then
// {cmd:'cpuprof-stop', file} writes a .cpuprofile.
let inspector;
function post(method, params) {
  return new Promise((resolve, reject) => inspector.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
}
async function cpuprof(cmd, file) {
  if (cmd === 'cpuprof-start') {
    inspector = new Session();
    inspector.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 200 });
    await post('Profiler.start');
    return { ok: true };
  }
  const { profile } = await post('Profiler.stop');
  inspector.disconnect();
  writeFileSync(file, JSON.stringify(profile));
  return { ok: true, file };
}

// Allocation profiles of the steady state, garbage included (what drives GC, not what stays):
// {cmd:'heapprof-start'} then {cmd:'heapprof-stop', file} writes a .heapprofile.
async function heapprof(cmd, file) {
  if (cmd === 'heapprof-start') {
    inspector = new Session();
    inspector.connect();
    await post('HeapProfiler.enable');
    await post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    return { ok: true };
  }
  const { profile } = await post('HeapProfiler.stopSampling');
  inspector.disconnect();
  writeFileSync(file, JSON.stringify(profile));
  return { ok: true, file };
}

if (process.send) {
  process.on('message', (m) => {
    if (!m || typeof m !== 'object' || typeof m.probe !== 'string') return;
    if (m.probe.startsWith('cpuprof-') || m.probe.startsWith('heapprof-')) {
      void (m.probe.startsWith('cpuprof-') ? cpuprof : heapprof)(m.probe, m.file).then((r) => process.send({ probeReply: m.id, ...r }), (err) => process.send({ probeReply: m.id, ok: false, error: String(err) }));
      return;
    }
    const reply = m.probe === 'start' ? start(m.eventLoop === true) : m.probe === 'stop' ? stop() : m.probe === 'memory' ? readMemory(m.gc === true) : { ok: false };
    process.send({ probeReply: m.id, ...reply });
  });
  // The channel must not keep a process alive that would otherwise exit.
  process.channel?.unref();
}
