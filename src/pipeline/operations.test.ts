import { describe, expect, it } from 'vitest';
import { imageTokenEstimate } from '../api/token-estimate.js';
import { chatOperation, completionsOperation, embeddingsOperation, messagesOperation } from './operations.js';

const bigSchema = { type: 'object', properties: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`field_${i}`, { type: 'string', description: 'A field the model must fill in.' }])) };
const schemaBytes = JSON.stringify(bigSchema).length;
const image = { type: 'image_url', image_url: { url: `data:image/png;base64,${'A'.repeat(16)}` } };

describe('prompt reservations (issue 9 §6)', () => {
  it('chat reserves tools, functions and response_format schemas by size', () => {
    const plain = chatOperation.promptTokens(chatOperation.parse({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, {}));
    for (const extra of [
      { tools: [{ type: 'function', function: { name: 'f', parameters: bigSchema } }] },
      { functions: [{ name: 'f', parameters: bigSchema }] },
      { response_format: { type: 'json_schema', json_schema: { name: 'out', schema: bigSchema } } },
    ]) {
      const r = chatOperation.parse({ model: 'm', messages: [{ role: 'user', content: 'hi' }], ...extra }, {});
      expect(chatOperation.promptTokens(r) - plain).toBeGreaterThanOrEqual(schemaBytes / 4);
    }
  });

  it('chat reserves a documented estimate per image, whatever its byte size, and audio by size', () => {
    const r = chatOperation.parse({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, image, image] }] }, {});
    expect(chatOperation.promptTokens(r)).toBeGreaterThanOrEqual(2 * imageTokenEstimate);
    const audio = { type: 'input_audio', input_audio: { data: 'A'.repeat(40_000), format: 'wav' } };
    const a = chatOperation.parse({ model: 'm', messages: [{ role: 'user', content: [audio] }] }, {});
    expect(chatOperation.promptTokens(a)).toBeGreaterThanOrEqual(10_000);
  });

  it('Messages API reserves system, tools, images and documents of the native body', () => {
    const body = {
      model: 'm',
      max_tokens: 10,
      system: [{ type: 'text', text: 'x'.repeat(4_000) }],
      tools: [{ name: 'f', input_schema: bigSchema }],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } },
            { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'B'.repeat(30_000) } },
          ],
        },
      ],
    };
    const r = messagesOperation.parse(body, {});
    expect(messagesOperation.promptTokens(r)).toBeGreaterThanOrEqual(1_000 + schemaBytes / 4 + imageTokenEstimate + 30_000 / 4);
  });

  it('completions reserve token ids by count and every choice of every prompt', () => {
    const r = completionsOperation.parse({ model: 'm', prompt: [[1, 2, 3], [4, 5]], n: 2, best_of: 3, max_tokens: 7 }, {});
    expect(completionsOperation.promptTokens(r)).toBe(5);
    expect(completionsOperation.outputReserve(r, {} as never)).toBe(2 * 3 * 7);
  });

  it('embeddings reserve token-id inputs by count', () => {
    const r = embeddingsOperation.parse({ model: 'm', input: [[1, 2, 3], [4, 5]] }, {});
    expect(embeddingsOperation.promptTokens(r)).toBe(5);
    const flat = embeddingsOperation.parse({ model: 'm', input: [1, 2, 3] }, {});
    expect(embeddingsOperation.promptTokens(flat)).toBe(3);
  });
});
