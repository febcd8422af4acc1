// CPU time of a process and all its descendants, read from /proc (Linux only). The probe
// (probe.mjs) measures from inside one process; a `serve --workers N` gateway is a primary plus N
// forked workers, and the bench has an IPC channel to the primary only, so the group's CPU is
// summed from outside instead: utime + stime of every process in the tree, all threads included
// (the same scope as process.cpuUsage(), which is getrusage(RUSAGE_SELF)).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const ticksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Resolution of the numbers below (one clock tick, usually 10 ms). */
export const tickMicros = 1e6 / ticksPerSecond;

export const procAvailable = (() => {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
})();

/** {pid, ppid, cpuMicros} from /proc/PID/stat; the command name may hold spaces and parentheses. */
function stat(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited meanwhile
  }
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the name: state, ppid, …; utime and stime are fields 14 and 15 of the whole line.
  return { pid, ppid: Number(f[1]), cpuMicros: (Number(f[11]) + Number(f[12])) * tickMicros };
}

/**
 * The CPU used so far by `rootPid` and every descendant: { total, byPid: {pid: µs} }.
 * A descendant that exited before the call is missing, so compare the pid sets of two reads.
 */
export function treeCpu(rootPid) {
  const all = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).map(stat).filter(Boolean);
  const children = new Map();
  for (const s of all) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const root = all.find((s) => s.pid === rootPid);
  const byPid = {};
  let total = 0;
  for (const queue = root ? [root] : []; queue.length > 0; ) {
    const s = queue.shift();
    byPid[s.pid] = s.cpuMicros;
    total += s.cpuMicros;
    queue.push(...(children.get(s.pid) ?? []));
  }
  return { total, byPid };
}
