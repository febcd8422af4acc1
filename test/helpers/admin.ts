/** Admin API calls for tests: JSON in, status and JSON out, with a bearer credential. */
import { request } from 'undici';

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
