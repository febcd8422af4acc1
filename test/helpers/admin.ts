/** Admin API calls for tests: JSON in, status and JSON out, with a bearer credential. */
import { request } from 'undici';
import { deepMerge, deploymentFor, startHarness, type Harness } from './harness.js';

export const ADMIN_KEY = 'test-bootstrap-admin-key-0123456789abcdef';

export interface AdminResult {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: any;
  readonly text: string;
}

export async function admin(url: string, method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, body?: unknown, key: string | null = ADMIN_KEY): Promise<AdminResult> {
  const res = await request(`${url}/admin/v1${path}`, {
    method,
    headers: { ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const text = await res.body.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.statusCode, headers: res.headers as Record<string, string>, body: parsed, text };
}

/**
 * Audit entries matching `query` (GET /admin/v1/audit?…, newest first), asked again every 25 ms
 * until `ready` holds: security events (auth.refused, access.denied, bootstrap.used) are written
 * off the request path, within about 250 ms. Throws after `timeoutMs` with what was last seen.
 */
export async function auditUntil(url: string, query: Record<string, string>, ready: (entries: any[]) => boolean, timeoutMs = 5_000): Promise<any[]> {
  const deadline = Date.now() + timeoutMs;
  const path = `/audit?${new URLSearchParams({ limit: '1000', ...query })}`;
  for (;;) {
    const res = await admin(url, 'GET', path);
    if (res.status !== 200) throw new Error(`GET /admin/v1${path} answered ${res.status}: ${res.text}`);
    const entries = res.body.data as any[];
    if (ready(entries)) return entries;
    if (Date.now() > deadline) throw new Error(`audit entries for ${JSON.stringify(query)} not as expected within ${timeoutMs} ms: ${JSON.stringify(entries).slice(0, 2_000)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * A gateway with the control plane on, as most admin tests want it: one fake OpenAI upstream
 * (deployment `d`), each alias in `models` served by it, the bootstrap key ADMIN_KEY, and the
 * embedded store in `:memory:`. `extra` is deep-merged over that config (identity, limits…).
 */
export function startAdminHarness(models: readonly string[] = ['m'], extra: Record<string, unknown> = {}): Promise<Harness> {
  return startHarness({
    fakes: [{ dialect: 'openai' }],
    env: { GATEWAY_ADMIN_KEY: ADMIN_KEY },
    config: (f) =>
      deepMerge(
        {
          deployments: { d: deploymentFor(f[0]!) },
          models: Object.fromEntries(models.map((m) => [m, { targets: [{ deployment: 'd', model: 'm' }] }])),
          admin: { bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' },
          state: { database: { dataDir: ':memory:' } },
        },
        extra,
      ),
  });
}
