import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

/** The soft-limit alert as the gateway POSTs it (docs/budgets.md, "The webhook"): the fields the demo prints. */
const alertSchema = z.object({
  type: z.literal('budget.soft_limit_crossed'),
  id: z.string(),
  team: z.string(),
  scope: z.string(),
  period: z.string(),
  window_end: z.string().nullable(),
  spent_usd: z.string(),
  soft_limit_usd: z.string(),
  limit_usd: z.string().nullable(),
});
export type SoftLimitAlert = z.infer<typeof alertSchema>;

/** An alert is a few hundred bytes; anything past this is not one and is refused unread. */
const MAX_BODY_BYTES = 16 * 1024;
/** Alerts kept (the demo expects one); more are answered but not kept. */
const MAX_ALERTS = 100;

/**
 * What an operator would point `budgets.webhook.url` at, in miniature: an HTTP server on
 * 127.0.0.1 that takes soft-limit alerts, hands each one (once per id: the gateway retries with
 * the same id) to `onAlert`, and answers 204. Bodies are bounded; anything else is a 4xx, which
 * the gateway does not retry.
 */
export class BudgetHookReceiver {
  readonly #server: Server;
  readonly #seen = new Set<string>();
  readonly #alerts: SoftLimitAlert[] = [];
  readonly #waiters = new Set<() => void>();
  #url = '';

  private constructor(private readonly onAlert: (alert: SoftLimitAlert) => void) {
    this.#server = createServer((req, res) => this.#handle(req, res));
    // An alert is one small POST: a client that dawdles is cut off rather than held open.
    this.#server.requestTimeout = 5_000;
    this.#server.headersTimeout = 5_000;
  }

  static async start(onAlert: (alert: SoftLimitAlert) => void): Promise<BudgetHookReceiver> {
    const receiver = new BudgetHookReceiver(onAlert);
    await new Promise<void>((resolve, reject) => {
      receiver.#server.once('error', reject);
      receiver.#server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = receiver.#server.address() as AddressInfo;
    receiver.#url = `http://127.0.0.1:${port}/budget-alerts`;
    return receiver;
  }

  /** The URL for `budgets.webhook.url`. */
  get url(): string {
    return this.#url;
  }

  /** The first alert for `scope`, as soon as it has arrived, or undefined after `timeoutMs`. */
  async waitFor(scope: string, timeoutMs: number): Promise<SoftLimitAlert | undefined> {
    const find = (): SoftLimitAlert | undefined => this.#alerts.find((a) => a.scope === scope);
    if (find()) return find();
    return new Promise((resolve) => {
      const check = (): void => {
        const alert = find();
        if (alert) done(alert);
      };
      const done = (alert: SoftLimitAlert | undefined): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(alert);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      this.#waiters.add(check);
    });
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'POST' || req.url !== '/budget-alerts') {
      res.writeHead(404).end();
      req.resume();
      return;
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      res.writeHead(413, { connection: 'close' }).end();
      req.destroy();
      return;
    }
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413, { connection: 'close' }).end();
        req.destroy();
        return;
      }
      parts.push(chunk);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      const alert = parseAlert(Buffer.concat(parts).toString('utf8'));
      if (!alert) {
        res.writeHead(400).end();
        return;
      }
      res.writeHead(204).end();
      if (this.#seen.has(alert.id) || this.#alerts.length >= MAX_ALERTS) return;
      this.#seen.add(alert.id);
      this.#alerts.push(alert);
      this.onAlert(alert);
      for (const check of [...this.#waiters]) check();
    });
    req.on('error', () => req.destroy());
  }
}

function parseAlert(text: string): SoftLimitAlert | undefined {
  try {
    const parsed = alertSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
