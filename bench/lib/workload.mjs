// The benchmark's workload: the request bodies, the tenant keys, the gateway config that puts
// auth, 100 rate-limited tenants, metrics and 3 deployments behind one alias on the hot path,
// and the equivalent Portkey config (load-balancing over the same 3 upstreams).

export const tenantCount = 100;
/** The key every deployment sends upstream (the fake ignores it; the gateways must still attach it). */
export const upstreamKey = 'sk-upstream-bench-0123456789';
export const alias = 'bench-model';
export const chatPath = '/v1/chat/completions';

/** ~260-byte non-streaming chat request. */
export const chatBody = JSON.stringify({
  model: alias,
  messages: [
    { role: 'system', content: 'You are a concise assistant for a team.' },
    { role: 'user', content: 'In two short sentences, why does connection pooling lower the latency of calls to an upstream?' },
  ],
  max_tokens: 64,
  temperature: 0.2,
});

export const streamBody = JSON.stringify({ ...JSON.parse(chatBody), stream: true, stream_options: { include_usage: true } });

/** Streams the fake holds open (chunks 500 ms apart): the open-stream memory phase. */
export const holdBody = JSON.stringify({ ...JSON.parse(streamBody), messages: [{ role: 'user', content: 'bench-hold: keep this stream open' }] });

export function tenantKey(i) {
  return `sk-bench-tenant-${String(i).padStart(3, '0')}-0123456789abcdef`;
}

/**
 * Our gateway's config (YAML is JSON): auth, limits that admit everything, 3 deployments, each
 * priced (so every request is costed: header, metric, log). `priced: false` for a build from
 * before prices existed (a --baseline older than issue 12).
 */
export function gatewayConfig(upstreamPorts, { maxConnections, priced = true }) {
  const deployments = {};
  const targets = [];
  upstreamPorts.forEach((port, i) => {
    const name = `upstream-${i + 1}`;
    deployments[name] = { provider: 'openai', baseUrl: `http://127.0.0.1:${port}/v1`, apiKey: '${env:BENCH_UPSTREAM_KEY}', maxConnections };
    targets.push({ deployment: name, model: 'bench-upstream-model', ...(priced ? { price: { input: 0.15, output: 0.6 } } : {}) });
  });
  const tenants = {};
  for (let i = 0; i < tenantCount; i++) {
    tenants[`tenant-${i}`] = {
      keys: [tenantKey(i)],
      models: [alias],
      limits: { requests: { capacity: 1_000_000, refillPerSecond: 1_000_000 }, tokens: { capacity: 1_000_000_000, refillPerSecond: 1_000_000_000 } },
    };
  }
  return {
    // No load balancer in front: stop at once (a --workers primary waits for its workers' drain).
    server: { host: '127.0.0.1', port: 0, drainDelayMs: 0 },
    logging: { level: 'info', format: 'json' },
    deployments,
    models: { [alias]: { strategy: 'round_robin', targets } },
    tenants,
  };
}

/** One header set per tenant; every target gets the same rotation (the keys only matter to ours). */
export function headerSets(kind, upstreamPorts) {
  const portkeyConfig = JSON.stringify({
    strategy: { mode: 'loadbalance' },
    targets: upstreamPorts.map((port, i) => ({ provider: 'openai', api_key: upstreamKey, custom_host: `http://127.0.0.1:${port}/v1`, weight: 1 })),
  });
  const sets = [];
  for (let i = 0; i < tenantCount; i++) {
    const h = { 'content-type': 'application/json', authorization: `Bearer ${tenantKey(i)}` };
    if (kind === 'portkey') h['x-portkey-config'] = portkeyConfig;
    sets.push(h);
  }
  return sets;
}

/** The bootstrap admin key of the `ours-db` target (a throw-away embedded store). */
export const benchAdminKey = 'bench-admin-key-0123456789abcdef0123456789';

/**
 * `ours-db`: the same gateway with the control plane on (embedded store in `dataDir`), its
 * 100 tenants made as teams through the admin API and called with keys issued there, so the
 * hot path looks every key up in the control plane's snapshot instead of the config.
 */
export function gatewayConfigWithStore(upstreamPorts, options, dataDir) {
  const config = gatewayConfig(upstreamPorts, options);
  return { ...config, tenants: {}, admin: { bootstrapKey: '${env:BENCH_ADMIN_KEY}' }, state: { database: { dataDir } } };
}

/** Makes the 100 teams and one key each through the admin API; returns header sets with those keys. */
export async function issueStoreKeys(url) {
  const call = async (path, body) => {
    const res = await fetch(`${url}/admin/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${benchAdminKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status !== 201) throw new Error(`admin ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const sets = [];
  for (let i = 0; i < tenantCount; i++) {
    await call('/teams', { name: `tenant-${i}`, models: [alias], limits: { requests: { capacity: 1_000_000, refillPerSecond: 1_000_000 }, tokens: { capacity: 1_000_000_000, refillPerSecond: 1_000_000_000 } } });
    const { key } = await call('/keys', { team: `tenant-${i}` });
    sets.push({ 'content-type': 'application/json', authorization: `Bearer ${key}` });
  }
  return sets;
}

/** The alias of route `i` (0-based) in the routes sweep. */
export function routeAlias(i) {
  return `bench-route-${String(i).padStart(4, '0')}`;
}

/**
 * The routes sweep's config: `routes` aliases, each with a deployment of its own (its own
 * connection pool), spread over the fake's ports; everything else as gatewayConfig, the tenants
 * allowed every model. Request i of the sweep names alias i % routes (routeBodies).
 */
export function gatewayConfigWithRoutes(upstreamPorts, routes, options) {
  const config = gatewayConfig(upstreamPorts, options);
  const template = Object.values(config.deployments)[0];
  const [target] = Object.values(config.models)[0].targets;
  const deployments = {};
  const models = {};
  for (let i = 0; i < routes; i++) {
    const deployment = `deployment-${String(i).padStart(4, '0')}`;
    deployments[deployment] = { ...template, baseUrl: `http://127.0.0.1:${upstreamPorts[i % upstreamPorts.length]}/v1` };
    models[routeAlias(i)] = { strategy: 'round_robin', targets: [{ ...target, deployment }] };
  }
  const tenants = Object.fromEntries(Object.entries(config.tenants).map(([name, t]) => [name, { ...t, models: ['*'] }]));
  return { ...config, deployments, models, tenants };
}

/** chatBody naming each of the `routes` aliases in turn. */
export function routeBodies(routes) {
  const base = JSON.parse(chatBody);
  return Array.from({ length: routes }, (_, i) => JSON.stringify({ ...base, model: routeAlias(i) }));
}

// Prose-like filler for large prompts: varied words (a tokenizer sees ordinary text, not one
// repeated token), the same bytes on every run.
const fillerWords = 'the gateway forwards each request to an upstream model after it checks the key applies the limits counts tokens and records what it cost while streams pass through chunk by chunk'.split(' ');

/** A non-streaming chat request whose one user message is exactly `bytes` bytes of ASCII text. */
export function promptBody(bytes) {
  let text = '';
  for (let i = 0; text.length < bytes; i++) text += `${fillerWords[(i * 7) % fillerWords.length]}${i % 13 === 12 ? '. ' : ' '}`;
  return JSON.stringify({ model: alias, messages: [{ role: 'user', content: text.slice(0, bytes) }], max_tokens: 64, temperature: 0.2 });
}
