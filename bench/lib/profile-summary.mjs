// Summarises a V8 .cpuprofile: self time by function and by package (or our own src/ file),
// and the same divided by the number of requests served while profiling.

function bucketFor(url, root) {
  if (!url) return '(native / V8)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return url;
  const rel = url.replace(`file://${root}/`, '');
  return rel.startsWith('dist/') ? rel : rel.replace(/^file:\/\//, '');
}

export function summarizeProfile(profile, { root, requests, top = 30 }) {
  const { nodes, samples, timeDeltas } = profile;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  for (let i = 0; i < samples.length; i++) selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + (timeDeltas[i] ?? 0));
  const fn = new Map();
  const pkg = new Map();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    const cf = n.callFrame;
    if (cf.functionName === '(idle)' || cf.functionName === '(program)') {
      if (cf.functionName === '(idle)') idle += us;
    }
    if (cf.functionName === '(idle)') continue;
    total += us;
    const b = bucketFor(cf.url, root);
    const key = `${cf.functionName || '(anonymous)'}  ${b}:${cf.lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    pkg.set(b, (pkg.get(b) ?? 0) + us);
  }
  const per = (us) => (requests ? `${(us / requests).toFixed(1)} µs/req` : '');
  const pct = (us) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
  const lines = [`busy ${(total / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms${requests ? `, ${per(total)} busy` : ''}`, '', 'self time by package / file:'];
  for (const [k, us] of [...pkg].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(us)}  ${per(us).padStart(14)}  ${k}`);
  lines.push('', 'self time by function:');
  for (const [k, us] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(us)}  ${per(us).padStart(14)}  ${k}`);
  return lines.join('\n');
}

// Summarises a V8 sampling .heapprofile taken with garbage included: bytes allocated by function
// (with its caller, since allocation sites are often small helpers) and by package, per request.
export function summarizeAllocations(profile, { root, requests, top = 30 }) {
  const fn = new Map();
  const pkg = new Map();
  let total = 0;
  const walk = (node, parent) => {
    const cf = node.callFrame;
    const name = `${cf.functionName || '(anonymous)'}  ${bucketFor(cf.url, root)}:${cf.lineNumber + 1}`;
    if (node.selfSize > 0) {
      total += node.selfSize;
      const key = parent ? `${name}  ← ${parent}` : name;
      fn.set(key, (fn.get(key) ?? 0) + node.selfSize);
      const b = bucketFor(cf.url, root);
      pkg.set(b, (pkg.get(b) ?? 0) + node.selfSize);
    }
    for (const child of node.children ?? []) walk(child, cf.functionName || '(anonymous)');
  };
  walk(profile.head, undefined);
  const per = (bytes) => (requests ? `${(bytes / requests / 1024).toFixed(2)} KB/req` : '');
  const pct = (bytes) => `${((bytes / total) * 100).toFixed(1).padStart(5)} %`;
  const lines = [`sampled ${(total / 1024 / 1024).toFixed(1)} MB${requests ? `, ${per(total)}` : ''}`, '', 'allocated by package / file:'];
  for (const [k, b] of [...pkg].sort((a, b2) => b2[1] - a[1]).slice(0, top)) lines.push(`  ${pct(b)}  ${per(b).padStart(14)}  ${k}`);
  lines.push('', 'allocated by function (← caller):');
  for (const [k, b] of [...fn].sort((a, b2) => b2[1] - a[1]).slice(0, top)) lines.push(`  ${pct(b)}  ${per(b).padStart(14)}  ${k}`);
  return lines.join('\n');
}
