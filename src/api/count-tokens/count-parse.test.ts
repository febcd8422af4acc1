import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors/gateway-error.js';
import type { ResponseItem } from '../responses-types.js';
import { estimateChatInputTokens } from './estimate.js';
import { parseMessagesCountRequest } from './messages-count.js';
import { parseResponsesCountRequest, responsesCountWith } from './responses-count.js';

function refusal(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error('expected a GatewayError');
}

describe('parseMessagesCountRequest', () => {
  it('keeps the native body without an output cap, and refuses output-only parameters by name', () => {
    const r = parseMessagesCountRequest({ model: 'm', system: 's', messages: [{ role: 'user', content: 'hi' }], thinking: { type: 'enabled', budget_tokens: 1024 } });
    expect(r.native).toEqual({ model: 'm', system: 's', messages: [{ role: 'user', content: 'hi' }], thinking: { type: 'enabled', budget_tokens: 1024 } });
    expect(r.untranslatable).toBe('thinking');
    for (const param of ['max_tokens', 'stream', 'temperature', 'stop_sequences']) {
      expect(refusal(() => parseMessagesCountRequest({ model: 'm', messages: [{ role: 'user', content: 'hi' }], [param]: 1 }))).toMatchObject({ status: 400, param });
    }
    expect(refusal(() => parseMessagesCountRequest([])).status).toBe(400);
  });
});

describe('parseResponsesCountRequest', () => {
  const prior: ResponseItem[] = [
    { type: 'message', id: 'msg_1', role: 'user', content: [{ type: 'input_text', text: 'What is the capital of France?' }] },
    { type: 'message', id: 'msg_2', role: 'assistant', content: [{ type: 'output_text', text: 'Paris is the capital of France.', annotations: [] }] },
  ];

  it('refuses previous_response_id without the stored items, and output-only parameters, by name', () => {
    expect(refusal(() => parseResponsesCountRequest({ model: 'm', input: 'x', previous_response_id: 'resp_1' }))).toMatchObject({ code: 'unsupported_parameter', param: 'previous_response_id' });
    expect(refusal(() => parseResponsesCountRequest({ model: 'm', input: 'x', max_output_tokens: 5 }))).toMatchObject({ param: 'max_output_tokens' });
  });

  it('with the stored items: the history comes first, natively and in the estimate; previous_response_id is not sent', () => {
    const alone = parseResponsesCountRequest({ model: 'm', input: 'And of Spain?' });
    const continued = responsesCountWith(prior).parse({ model: 'm', input: 'And of Spain?', previous_response_id: 'resp_1' }, {});
    expect(continued.native).toEqual({ model: 'm', input: [...prior, { role: 'user', content: 'And of Spain?' }] });
    expect(alone.native).toEqual({ model: 'm', input: 'And of Spain?' });
    expect(continued.chat.messages).toHaveLength(3);
    expect(estimateChatInputTokens(continued.chat)).toBeGreaterThan(estimateChatInputTokens(alone.chat) + 10);
  });
});
