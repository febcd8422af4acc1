// Warm-up before a closed-loop measurement, sized by work done rather than by time alone.
//
// V8 optimises a function after enough calls, so a fixed number of seconds warms a target that
// serves 200 req/s far less than one that serves 2,000 req/s. Portkey, cold, served ~200 req/s
// and its CPU per request fell from ~6.6 ms (its first ~800 requests) to ~2.7 ms once it had
// served ~2,000–3,000 (profile and numbers in bench/analysis.md): a 1–2 s warm-up measured it
// mid-JIT. Every target now gets at least `minRequests` requests and `minSeconds` seconds of the
// same load, capped at `capSeconds` so a very slow target cannot stall the run.
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runJsonChild } from './processes.mjs';

const loadMax = join(dirname(fileURLToPath(import.meta.url)), 'load-max.mjs');

/**
 * Runs load-max with `spec` (url, path, connections, body, headerSets) until both minimums are
 * met or `capSeconds` passed. Resolves with { requests, seconds, failed }.
 */
export async function warmUp(spec, { minSeconds, minRequests, capSeconds, cpu }) {
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  let requests = 0;
  let failed = 0;
  let durationSec = minSeconds;
  for (;;) {
    const r = await runJsonChild([loadMax, JSON.stringify({ ...spec, durationSec })], { cpu });
    requests += r.total;
    failed += (r.non2xx ?? 0) + (r.errors ?? 0);
    const left = minRequests - requests;
    const room = capSeconds - elapsed();
    if (left <= 0 || room < 1) break;
    // Size the next slice from the rate just seen, at most 5 s: a cold target speeds up as it
    // warms, so a long slice sized from its first second would overshoot.
    const rate = r.total / durationSec || 1;
    durationSec = Math.max(1, Math.min(Math.ceil(left / rate), 5, Math.floor(room)));
  }
  return { requests, seconds: elapsed(), failed };
}
