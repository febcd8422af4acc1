import { request } from 'undici';

export interface AdminReply {
  readonly status: number;
  readonly body: any;
}

/**
 * One admin API call, as `curl -H "Authorization: Bearer $GATEWAY_ADMIN_KEY"` would make it. The
 * demo is a script: an answer other than `expected` is a bug, and stops it with the answer's text.
 */
export async function adminCall(baseUrl: string, adminKey: string, method: 'GET' | 'POST' | 'DELETE', path: string, expected: number, body?: unknown): Promise<AdminReply> {
  const res = await request(`${baseUrl}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const text = await res.body.text();
  if (res.statusCode !== expected) throw new Error(`${method} /admin/v1${path} answered ${res.statusCode}, not ${expected}: ${text.slice(0, 500)}`);
  return { status: res.statusCode, body: JSON.parse(text) };
}
