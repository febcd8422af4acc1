// CPU per request of the request's abort plumbing, as the edge and pipeline set it up:
//   taskset -c 1 node bench/micro/abort-signals.mjs
const N = 200_000;
function run(label, fn) {
  fn(); // warm up
  for (let r = 0; r < 2; r++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) fn();
    const c = process.cpuUsage(c0);
    if (r === 1) console.log(`${label}: ${((c.user + c.system) / N).toFixed(2)} us/request`);
  }
}
run('edge controller + deadline controller following it + deadline timer (before)', () => {
  const edge = new AbortController();
  const client = edge.signal;
  const c = new AbortController();
  const onGone = () => c.abort(client.reason);
  client.addEventListener('abort', onGone, { once: true });
  const t = setTimeout(() => c.abort(new Error('deadline')), 300_000);
  t.unref();
  void c.signal;
  clearTimeout(t);
  client.removeEventListener('abort', onGone);
});
run('one controller shared by edge and deadline + deadline timer (after)', () => {
  const c = new AbortController();
  void c.signal;
  const t = setTimeout(() => c.abort(new Error('deadline')), 300_000);
  t.unref();
  clearTimeout(t);
});
