/**
 * Every call the console makes: to the admin API on the page's own origin (relative URLs only,
 * so the credential can go nowhere else; the CSP's connect-src 'self' enforces it too). The
 * credential lives in sessionStorage: gone when the tab closes or on sign-out.
 */

const STORAGE_KEY = 'llm-gateway.console.credential';

export function credential(): string | null {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function setCredential(value: string): void {
  sessionStorage.setItem(STORAGE_KEY, value);
}

export function clearCredential(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

/** An admin API error, with its OpenAI-shaped code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | null,
    message: string,
  ) {
    super(message);
  }
}

type Listener = () => void;
let unauthorized: Listener = () => {};

/** What to do when a call is answered 401 (the credential expired or was revoked): sign out. */
export function onUnauthorized(listener: Listener): void {
  unauthorized = listener;
}

/** The path under /admin/v1 with its query; never an absolute URL. */
function adminUrl(path: string): string {
  if (!path.startsWith('/') || path.startsWith('//')) throw new Error(`not an admin API path: ${path}`);
  return `/admin/v1${path}`;
}

async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const secret = credential();
  const headers = new Headers(init.headers);
  if (secret !== null) headers.set('authorization', `Bearer ${secret}`);
  const res = await fetch(adminUrl(path), { ...init, headers, credentials: 'omit', cache: 'no-store', redirect: 'error', referrerPolicy: 'no-referrer' });
  if (res.status === 401) {
    clearCredential();
    unauthorized();
  }
  if (!res.ok) {
    let code: string | null = null;
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = (await res.json()) as { error?: { code?: string; message?: string } };
      code = body.error?.code ?? null;
      if (body.error?.message) message = body.error.message;
    } catch {
      // Not JSON: the status says enough.
    }
    throw new ApiError(res.status, code, message);
  }
  return res;
}

export async function api<T>(path: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE' = 'GET', body?: unknown): Promise<T> {
  const res = await call(path, body === undefined ? { method } : { method, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return (await res.json()) as T;
}

/** A download that needs the credential (CSV): fetched, then saved from a blob URL. */
export async function download(path: string, fallbackName: string): Promise<void> {
  const res = await call(path, { headers: { accept: 'text/csv' } });
  const disposition = res.headers.get('content-disposition') ?? '';
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Opens a streaming GET (the live event stream) with the credential; the caller reads the body. */
export function openStream(path: string, signal: AbortSignal): Promise<Response> {
  return call(path, { signal, headers: { accept: 'text/event-stream' } });
}
