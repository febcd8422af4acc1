import { sendDemoCall, type DemoCall } from './demo-client.js';
import { demoTenants } from './demo-config.js';
import { out } from './demo-output.js';

/** Background traffic while the console is open: a call every INTERVAL_MS, at most MAX_IN_FLIGHT at once. */
const INTERVAL_MS = 400;
const MAX_IN_FLIGHT = 4;

/**
 * `llm-gateway demo --console`: after the story, the gateway keeps serving with the web console
 * at /ui and a little traffic from the demo's teams (so the live page moves, retries and the
 * flaky upstream's breaker included), until Ctrl-C (SIGINT) or SIGTERM.
 */
export async function serveConsole(url: string, adminKey: string): Promise<void> {
  out('The console is open (Ctrl-C to stop):');
  out(`  ${url}/ui/`);
  out(`  sign in with the demo's admin credential: ${adminKey}`);
  out('  (made for this run only; the demo keeps sending a little traffic so the live page moves)\n');
  const [a, b, c] = demoTenants;
  const mix: Array<Omit<DemoCall, 'n'>> = [
    { tenant: a.name, key: a.key, model: 'gpt-mini', stream: true },
    { tenant: a.name, key: a.key, model: 'gpt-stable', stream: false },
    { tenant: b.name, key: b.key, model: 'gpt-mini', stream: false },
    { tenant: b.name, key: b.key, model: 'llama-triton', stream: true },
    { tenant: c.name, key: c.key, model: 'gpt-mini', stream: false },
  ];
  let n = 0;
  let inFlight = 0;
  const timer = setInterval(() => {
    if (inFlight >= MAX_IN_FLIGHT) return;
    const call = mix[n % mix.length] as Omit<DemoCall, 'n'>;
    n += 1;
    inFlight += 1;
    sendDemoCall(url, { ...call, n })
      .catch(() => undefined)
      .finally(() => (inFlight -= 1));
  }, INTERVAL_MS);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  clearInterval(timer);
  out('\nStopping the console.');
}
