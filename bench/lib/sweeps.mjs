// The sweeps phase (`--phases sweeps`): costs that grow with scale, each measured on gateways
// started fresh for it (lib/sweep-*.mjs), pinned as the other phases. The multi-core sweep is
// the scaling phase (lib/scaling.mjs).
//   keys     100 → 100,000 API keys in the control plane: idle RSS, added p50 at c=1
//   routes   1 → 1,000 aliases, a deployment each: CPU per request at a fixed rate
//   streams  up to 10,000 concurrent slow streams: memory per stream, every stream completes
//   body     1 KB → 1 MB prompts: CPU per request, event-loop delay
import { sweepBody } from './sweep-body.mjs';
import { sweepKeys } from './sweep-keys.mjs';
import { sweepRoutes } from './sweep-routes.mjs';
import { sweepStreams } from './sweep-streams.mjs';

/** The sizes of each sweep: the full run's (≈ 3–4 min in all) and --quick's (≈ 1–1.5 min). */
export function sweepPlan(quick) {
  const warmup = quick ? { minSeconds: 1, minRequests: 2000, capSeconds: 10 } : { minSeconds: 1, minRequests: 4000, capSeconds: 15 };
  const KB = 1024;
  return {
    keys: { counts: quick ? [100, 1000, 10_000] : [100, 1000, 10_000, 100_000], warmup, warmupMs: 200, durationMs: quick ? 1500 : 3000, settleMs: 1000 },
    routes: { counts: [1, 10, 100, 1000], rate: 1000, warmup, warmupMs: quick ? 500 : 1000, durationMs: quick ? 1500 : 3000 },
    // maxChunks: the streams' length if never released (60 s), a bound, not the usual end.
    streams: { counts: quick ? [300, 1000] : [1000, 3000, 10_000], warmupMs: 1000, chunkGapMs: 2000, maxChunks: 30, maxOpening: 250 },
    body: {
      sizes: [
        { bytes: KB, rate: 200 },
        { bytes: 10 * KB, rate: 200 },
        { bytes: 100 * KB, rate: 100 },
        { bytes: 1024 * KB, rate: 20 },
      ],
      warmup,
      warmupMs: quick ? 500 : 1000,
      durationMs: quick ? 1500 : 3000,
    },
  };
}

/** Runs every sweep in turn; `ports`: the run's fake upstream (3 ports, on the load CPU). */
export async function phaseSweeps({ quick, ports, dist, log }) {
  const plan = sweepPlan(quick);
  log('phase: sweeps (costs that grow with scale), each on gateways started fresh');
  const t0 = performance.now();
  const out = {};
  out.keys = await sweepKeys({ plan: plan.keys, ports, dist, log });
  out.routes = await sweepRoutes({ plan: plan.routes, ports, dist, log });
  out.streams = await sweepStreams({ plan: plan.streams, dist, log });
  out.body = await sweepBody({ plan: plan.body, ports, dist, log });
  out.seconds = (performance.now() - t0) / 1000;
  log(`  sweeps took ${Math.round(out.seconds)} s`);
  return out;
}
