import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString('utf8')));
  return { stream, text: () => text };
}

describe('createLogger', () => {
  it('redacts keys and header secrets that slip into a log call (S-18 second guard)', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', format: 'json', destination: out.stream });
    logger.info(
      {
        authorization: 'Bearer sk-top-level-secret',
        apiKey: 'sk-api-key-secret',
        headers: { authorization: 'Bearer sk-header-secret', 'x-api-key': 'sk-x-api-key-secret', 'api-key': 'azure-secret', cookie: 'session=secret' },
        deployment: { apiKey: 'sk-deployment-secret', name: 'upstream-1' },
        model: 'gpt-mini',
      },
      'request',
    );
    const line = JSON.parse(out.text()) as Record<string, unknown>;
    expect(out.text()).not.toMatch(/secret/);
    expect(line.model).toBe('gpt-mini');
    expect((line.deployment as Record<string, unknown>).name).toBe('upstream-1');
    expect((line.headers as Record<string, unknown>).authorization).toBe('[redacted]');
  });
});
