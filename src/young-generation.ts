import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/**
 * The size of V8's young generation (its two semi-spaces), which is most of a gateway's resident
 * memory left alone: V8 grows each semi-space up to 16 MB when many objects survive a scavenge,
 * which loading our modules and a burst of requests both do, and never gives the room back
 * (32 MB of the 110 MB idle, bench/micro/startup-memory.mjs). At the benchmark's maximum load
 * (50 requests in flight, ~60 KB allocated each) a semi-space of 8 MB cost no more CPU per
 * request than 16 MB in two interleaved runs and lowered the peak by 10–20 MB; 4 MB cost 10–20 %
 * more CPU (requests outlive a scavenge, are promoted and marked), 1 MB far more
 * (bench/run.mjs --phases max --baseline, docs/operations.md#performance).
 *
 * V8 fixes the young generation's maximum when the heap is set up, before any of our code runs,
 * so `--max-semi-space-size` works only on the command line (or NODE_OPTIONS). The growth factor
 * is read each time the young generation grows, though: 1 holds it where it is. So the gateway
 * holds it at its initial 1 MB while it starts (start-up's garbage needs no more), lets it grow
 * once serving, and holds it again once it has reached the cap. An operator's own flags win:
 * either semi-space flag on the command line or in NODE_OPTIONS and this does nothing.
 * Measured on Node 20.20 (V8 11.3); a V8 that ignores the factor at run time, or holds it at its
 * own minimum, leaves its default sizing in place: more memory, nothing worse.
 */
const capBytes = 8 * 1024 * 1024;

const operatorSized = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((arg) => /^--(max|min)[-_]semi[-_]space[-_]size|^--semi[-_]space[-_]growth[-_]factor/.test(arg));

function growthFactor(factor: number): void {
  setFlagsFromString(`--semi-space-growth-factor=${factor}`);
}

/** One semi-space's size now: the new space holds two of them. */
function semiSpaceBytes(): number {
  const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  return space ? space.space_size / 2 : capBytes;
}

/** Called first thing: the young generation stays at its initial size while modules load and the config compiles. */
export function holdYoungGeneration(): void {
  if (!operatorSized) growthFactor(1);
}

/**
 * Called once listening: the young generation may grow (V8 doubles it when a scavenge's
 * survivors outgrow it) up to `capBytes`, then is held there. Checked after every GC, for as
 * long as the process runs: after a full GC at a low allocation rate V8 may shrink it again,
 * and it must then be free to grow back under the next load.
 */
let capping = false;

export function capYoungGeneration(): void {
  if (operatorSized || capping) return;
  capping = true;
  // As holdYoungGeneration left it (or V8's own 2, which check() sets again: harmless).
  let held = true;
  const check = (): void => {
    const hold = semiSpaceBytes() >= capBytes;
    if (hold === held) return;
    held = hold;
    growthFactor(hold ? 1 : 2);
  };
  check();
  new PerformanceObserver(check).observe({ entryTypes: ['gc'] });
}
