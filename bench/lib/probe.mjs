// Preloaded into every process under test (`node --import probe.mjs …`, spawned with an IPC
// channel) so each is measured the same way from the inside, without touching its code:
//   {cmd:'start'}  remember CPU time and heap use, start a v8.GCProfiler;
//   {cmd:'stop'}   answer the CPU time used since start (process.cpuUsage, user + system), the
//                  bytes allocated on the V8 heap since start, GC pause time, and memory.
// Allocation: V8 exposes no running total, so it is the growth of used heap between GCs as the
// profiler records them: (used before GC₁ − used at start) + Σ(used before GCᵢ − used after
// GCᵢ₋₁) + (used now − used after the last GC). Buffer backing stores (off-heap) are not counted.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { GCProfiler, getHeapStatistics } from 'node:v8';

let session;

function memory() {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, maxRss: process.resourceUsage().maxRSS * 1024 };
}

function start() {
  const profiler = new GCProfiler();
  profiler.start();
  session = { profiler, cpu: process.cpuUsage(), used: getHeapStatistics().used_heap_size, hr: process.hrtime.bigint() };
  return { ok: true, ...memory() };
}

function stop() {
  if (!session) return { ok: false };
  const { profiler, cpu, used, hr } = session;
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
  return { ok: true, cpuMicros: d.user + d.system, allocatedBytes: allocated, gcCount: stats.length, gcMicros, wallMs: Number(process.hrtime.bigint() - hr) / 1e6, ...memory() };
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
    const reply = m.probe === 'start' ? start() : m.probe === 'stop' ? stop() : m.probe === 'memory' ? { ok: true, ...memory() } : { ok: false };
    process.send({ probeReply: m.id, ...reply });
  });
  // The channel must not keep a process alive that would otherwise exit.
  process.channel?.unref();
}
