/**
 * An in-process gateway with tracing on (spans exported every 20 ms) in front of one OpenAI fake
 * that replies 'ok': model 'chat' → deployment 'd1' (gpt-4o-mini). Shared by the export tests.
 */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { startHarness, type Harness, type HarnessOptions } from './harness.js';

/** `tracing` is merged over { enabled: true, scheduledDelayMs: 20 }; the caller closes the harness. */
export function startTracedHarness(tracing: Record<string, unknown>, options: Pick<HarnessOptions, 'env' | 'logger'> = {}): Promise<Harness> {
  return startHarness({
    ...options,
    fakes: [{ dialect: 'openai', behaviour: { reply: 'ok' } }],
    config: ([fake]) => ({
      tracing: { enabled: true, scheduledDelayMs: 20, ...tracing },
      deployments: { d1: { provider: 'openai', baseUrl: fake!.baseUrl } },
      models: { chat: { targets: [{ deployment: 'd1', model: 'gpt-4o-mini' }] } },
    }),
  });
}

/** A logger at info whose lines are kept, to check what a warning says (and what it must not). */
export function keptLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString('utf8')), done()) }));
  return { logger, lines };
}
