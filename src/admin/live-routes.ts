import { z } from 'zod';
import { GatewayError } from '../errors/gateway-error.js';
import type { RuntimeDeployment } from '../routing/runtime-types.js';
import type { AdminCall, AdminReply, AdminRoute } from './context.js';

/**
 * What the live console reads of this process (issue 13): its traffic second by second
 * (`/live`, server-sent events) and the state of its deployments (`/deployments`). Both need
 * `metrics.read` (admin and global viewer): they show every team's traffic. Both are this
 * process's view: breakers are per replica, and so is the traffic each one serves.
 */

const percentiles = z.object({ p50: z.number(), p95: z.number() }).nullable();

export const deploymentView = z.object({
  name: z.string(),
  provider: z.string().describe('`gen_ai.provider.name`.'),
  models: z.array(z.string()).describe('The aliases that route to it.'),
  upstreamModel: z.string().nullable().describe('The model its first target asks the upstream for.'),
  server: z.string().describe('host:port: never credentials, paths or query strings.'),
  state: z.enum(['healthy', 'cooling_down', 'breaker_open', 'breaker_half_open']),
  breaker: z.object({
    state: z.enum(['closed', 'open', 'half_open']),
    transitions: z.array(z.object({ from: z.string(), to: z.string(), at: z.string(), reason: z.string() })).describe('The last 20, oldest first.'),
  }),
  cooldownUntil: z.string().nullable().describe('RFC 3339: skipped after a provider 429 until then.'),
  inFlight: z.number().int().describe('Calls holding one of its connections now.'),
  pool: z.object({ active: z.number().int(), idle: z.number().int().optional(), queued: z.number().int(), max: z.number().int().nullable() }),
  latencyMs: percentiles.describe('Attempt latency over the last five minutes.'),
  recentFailures: z.array(z.object({ at: z.string(), outcome: z.string(), status: z.number().int().nullable(), requestId: z.string() })).describe('The last 20 failed attempts, oldest first.'),
});

const deploymentList = z.object({ object: z.literal('list'), data: z.array(deploymentView) });

export const liveRoutes: AdminRoute[] = [
  {
    method: 'GET',
    path: '/live',
    summary: "This process's traffic, second by second (server-sent events: `history`, then a `tick` a second)",
    action: 'metrics.read',
    status: 200,
    response: 'event-stream',
    handle: openLive,
  },
  { method: 'GET', path: '/deployments', summary: "This process's deployments: health, breaker and its history, cooldown, pool, latency, recent failures", action: 'metrics.read', status: 200, response: deploymentList, handle: listDeployments },
];

async function openLive(call: AdminCall): Promise<AdminReply> {
  call.require('metrics.read');
  const live = call.ctx.live;
  if (!live) throw new GatewayError('resource_not_found', 'The live view is not available on this gateway.');
  // Refused (429, 503) before any byte of the stream is sent, in the admin API's error shape.
  return {
    status: 200,
    body: undefined,
    stream: (scope) => live.hub.open(scope.res, () => call.stillAllowed('metrics.read'), { 'x-gateway-request-id': scope.requestId }),
  };
}

async function listDeployments(call: AdminCall): Promise<AdminReply> {
  call.require('metrics.read');
  const runtime = call.ctx.runtime?.();
  if (!runtime) return { status: 200, body: { object: 'list', data: [] } };
  const { config } = runtime;
  const aliases = new Map<string, string[]>();
  const upstreamModels = new Map<string, string>();
  for (const [alias, m] of Object.entries(config.models)) {
    for (const t of m.targets) {
      const list = aliases.get(t.deployment) ?? [];
      if (!list.includes(alias)) list.push(alias);
      aliases.set(t.deployment, list);
      if (!upstreamModels.has(t.deployment)) upstreamModels.set(t.deployment, t.model);
    }
  }
  const nowMono = call.ctx.clock.nowMs();
  const nowWall = call.ctx.clock.wallMs();
  const data = [...runtime.deployments.values()].map((d) => view(call, d, aliases.get(d.name) ?? [], upstreamModels.get(d.name) ?? null, nowMono, nowWall));
  return { status: 200, body: { object: 'list', data } };
}

function view(call: AdminCall, d: RuntimeDeployment, models: string[], upstreamModel: string | null, nowMono: number, nowWall: number): z.infer<typeof deploymentView> {
  const breaker = d.breaker.state;
  const until = call.ctx.cooldowns?.untilMs(d.name) ?? 0;
  const cooling = until > nowMono;
  const past = call.ctx.live?.aggregator.deployment(d.name);
  const gate = d.endpoint.gate;
  const free = (d.endpoint.pool as { stats?: { free?: number } }).stats?.free;
  return {
    name: d.name,
    provider: d.genAiProvider,
    models,
    upstreamModel,
    // Host and port only: the URL's path, query (an API key in `?key=`) and user info never leave.
    server: `${d.serverAddress}:${d.serverPort}`,
    state: breaker === 'open' ? 'breaker_open' : breaker === 'half_open' ? 'breaker_half_open' : cooling ? 'cooling_down' : 'healthy',
    breaker: { state: breaker, transitions: [...(past?.transitions ?? [])] },
    cooldownUntil: cooling ? new Date(nowWall + (until - nowMono)).toISOString() : null,
    inFlight: gate.held,
    pool: { active: gate.held, ...(typeof free === 'number' ? { idle: free } : {}), queued: gate.waiting, max: gate.capacity },
    latencyMs: past?.latencyMs ?? null,
    recentFailures: [...(past?.recentFailures ?? [])],
  };
}
