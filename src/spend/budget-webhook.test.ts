import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResolvedBudgetWebhook } from '../config/load.js';
import { Secret } from '../config/secret.js';
import type { BudgetSoftLimitEvent } from '../observability/events.js';
import { BudgetWebhook, type WebhookResult } from './budget-webhook.js';

const TOKEN = 'hook-token-s3cr3t-value';

interface Received {
  readonly headers: IncomingMessage['headers'];
  readonly body: Record<string, unknown>;
}

/** A receiver on loopback whose answer to the n-th request (1-based) is chosen by `answer`. */
async function receiver(answer: (n: number, res: ServerResponse) => void): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8').on('data', (c: string) => (text += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(text) as Record<string, unknown> });
      answer(received.length, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/hooks/budget?sig=url-s3cr3t`, received, server };
}

function setup(url: string, over: Partial<ResolvedBudgetWebhook> = {}) {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) }));
  const results: WebhookResult[] = [];
  const config: ResolvedBudgetWebhook = { url: new Secret(url), headers: { authorization: new Secret(`Bearer ${TOKEN}`) }, timeoutMs: 500, maxAttempts: 4, queueSize: 10, ...over };
  const hook = new BudgetWebhook(config, { logger, onResult: (r) => results.push(r), backoffMs: 20, wallMs: () => Date.parse('2026-12-05T10:00:00Z') });
  return { hook, lines, results };
}

const crossing: BudgetSoftLimitEvent = {
  tenant: 'acme',
  scope: 'team:acme',
  scopeType: 'team',
  period: 'monthly',
  windowStart: '2026-12-01T00:00:00.000Z',
  windowEnd: '2027-01-01T00:00:00.000Z',
  softLimitPico: 400_000_000_000_000n,
  limitPico: 500_000_000_000_000n,
  spentPico: 400_000_100_000_000n,
};

async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

describe('BudgetWebhook', () => {
  it('posts the alert with its headers, exact amounts and an idempotency key, off the caller’s path', async () => {
    const r = await receiver((_n, res) => res.writeHead(204).end());
    servers.push(r.server);
    const { hook, results } = setup(r.url);
    // Returns at once: nothing is awaited by the caller.
    expect(hook.budgetSoftLimitCrossed(crossing)).toBeUndefined();
    await until(() => results.length === 1);
    expect(results).toEqual(['delivered']);
    const [got] = r.received;
    expect(got?.headers['authorization']).toBe(`Bearer ${TOKEN}`);
    expect(got?.headers['content-type']).toBe('application/json');
    expect(got?.body).toEqual({
      type: 'budget.soft_limit_crossed',
      id: got?.headers['idempotency-key'],
      occurred_at: '2026-12-05T10:00:00.000Z',
      team: 'acme',
      scope: 'team:acme',
      scope_type: 'team',
      period: 'monthly',
      window_start: '2026-12-01T00:00:00.000Z',
      window_end: '2027-01-01T00:00:00.000Z',
      spent_usd: '400.0001',
      soft_limit_usd: '400.00',
      limit_usd: '500.00',
    });
    await hook.close();
  });

  it('retries a receiver that fails twice, then delivers once, with the same idempotency key', async () => {
    const r = await receiver((n, res) => res.writeHead(n <= 2 ? 503 : 200).end());
    servers.push(r.server);
    const { hook, results } = setup(r.url);
    hook.budgetSoftLimitCrossed(crossing);
    await until(() => results.length === 1);
    expect(results).toEqual(['delivered']);
    expect(r.received).toHaveLength(3);
    expect(new Set(r.received.map((x) => x.headers['idempotency-key'])).size).toBe(1);
    await hook.close();
  });

  it('gives up on a receiver that hangs after maxAttempts timeouts, and logs no secret', async () => {
    const r = await receiver(() => undefined); // never answers
    servers.push(r.server);
    const { hook, results, lines } = setup(r.url, { timeoutMs: 200, maxAttempts: 2 });
    const started = Date.now();
    hook.budgetSoftLimitCrossed(crossing);
    await until(() => results.length === 1);
    expect(results).toEqual(['failed']);
    expect(r.received).toHaveLength(2);
    // Two bounded attempts and a short backoff: nowhere near forever.
    expect(Date.now() - started).toBeLessThan(3_000);
    const log = lines.join('');
    expect(log).toContain('budget webhook delivery failed');
    expect(log).toContain('timeout');
    expect(log).not.toContain(TOKEN);
    expect(log).not.toContain('url-s3cr3t');
    await hook.close();
  });

  it('does not retry a 4xx the receiver will refuse again; a refused connection is retried', async () => {
    const r = await receiver((_n, res) => res.writeHead(400).end());
    servers.push(r.server);
    const { hook, results } = setup(r.url);
    hook.budgetSoftLimitCrossed(crossing);
    await until(() => results.length === 1);
    expect(results).toEqual(['failed']);
    expect(r.received).toHaveLength(1);
    await hook.close();

    const closed = setup('http://127.0.0.1:1/nothing-listens', { maxAttempts: 3 });
    closed.hook.budgetSoftLimitCrossed(crossing);
    await until(() => closed.results.length === 1);
    expect(closed.results).toEqual(['failed']);
    expect(closed.lines.join('')).toContain('ECONNREFUSED');
    await closed.hook.close();
  });

  it('holds at most queueSize alerts; more are dropped and counted, never buffered without bound', async () => {
    const r = await receiver(() => undefined);
    servers.push(r.server);
    const { hook, results } = setup(r.url, { queueSize: 3, timeoutMs: 5_000 });
    for (let i = 0; i < 10; i++) hook.budgetSoftLimitCrossed(crossing);
    // One in flight, three waiting, six dropped.
    expect(hook.queued).toBe(3);
    expect(results.filter((x) => x === 'dropped')).toHaveLength(6);
    await hook.close();
    expect(hook.queued).toBe(0);
  });
});
