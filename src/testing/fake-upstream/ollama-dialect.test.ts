import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { fakeStarter } from './dialect-test-kit.js';

const start = fakeStarter('ollama');

function post(url: string, body: unknown): ReturnType<typeof request> {
  return request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

const chat = (extra: Record<string, unknown> = {}) => ({ model: 'llama3.2', messages: [{ role: 'user', content: 'why is the sky blue' }], ...extra });

describe('ollama fake', () => {
  it('streams NDJSON by default (no stream field): content lines, then done:true with counts and ns durations', async () => {
    const fake = await start({ behaviour: { reply: 'one two three', chunks: 3 } });
    expect(fake.baseUrl).toBe(`http://127.0.0.1:${fake.port}`);
    const res = await post(`${fake.baseUrl}/api/chat`, chat());
    expect(res.headers['content-type']).toBe('application/x-ndjson');
    const text = await res.body.text();
    expect(text.endsWith('}\n')).toBe(true);
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.message.content)).toEqual(['one ', 'two ', 'three', '']);
    expect(lines.map((l) => l.done)).toEqual([false, false, false, true]);
    const last = lines.at(-1);
    expect(last).toMatchObject({ done_reason: 'stop', prompt_eval_count: 5 + 4, eval_count: 3 });
    expect(last.eval_duration).toBe(3 * 21_000_000);
    expect(last.total_duration).toBeGreaterThan(last.eval_duration + last.prompt_eval_duration);
    expect(lines[0].created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  });

  it('stream:false: one object; num_predict cuts with done_reason length; format schema → JSON content', async () => {
    const fake = await start({ behaviour: { reply: 'one two three' } });
    const cut = (await (await post(`${fake.baseUrl}/api/chat`, chat({ stream: false, options: { num_predict: 2 } }))).body.json()) as any;
    expect([cut.message.content, cut.done_reason, cut.done]).toEqual(['one two', 'length', true]);
    const format = { type: 'object', properties: { colour: { type: 'string' } }, required: ['colour'] };
    const json = (await (await post(`${fake.baseUrl}/api/chat`, chat({ stream: false, format }))).body.json()) as any;
    expect(JSON.parse(json.message.content)).toEqual({ colour: 'sample' });
  });

  it('tools: object arguments, no id; a tool result ends the loop', async () => {
    const fake = await start();
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const first = (await (await post(`${fake.baseUrl}/api/chat`, chat({ stream: false, tools }))).body.json()) as any;
    expect(first.message.tool_calls).toEqual([{ function: { name: 'get_weather', arguments: { city: 'sample' } } }]);
    const messages = [...chat().messages, first.message, { role: 'tool', content: 'sunny', tool_name: 'get_weather' }];
    const second = (await (await post(`${fake.baseUrl}/api/chat`, { model: 'llama3.2', messages, tools, stream: false })).body.json()) as any;
    expect(second.message.tool_calls).toBeUndefined();
  });

  it('rejects what Ollama rejects: string tool arguments, data-URL images, array content, unknown models', async () => {
    const fake = await start({ models: ['llama3.2'] });
    const bad = async (body: unknown): Promise<[number, unknown]> => {
      const res = await post(`${fake.baseUrl}/api/chat`, body);
      return [res.statusCode, await res.body.json()];
    };
    expect(await bad({ model: 'llama3.2', messages: [{ role: 'assistant', content: '', tool_calls: [{ function: { name: 'f', arguments: '{}' } }] }] })).toEqual([
      400,
      { error: expect.stringContaining('cannot unmarshal string') },
    ]);
    expect(await bad({ model: 'llama3.2', messages: [{ role: 'user', content: 'x', images: ['data:image/png;base64,AAAA'] }] })).toEqual([400, { error: 'illegal base64 data at input byte 4' }]);
    expect(await bad({ model: 'llama3.2', messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }] })).toEqual([400, { error: expect.stringContaining('cannot unmarshal array') }]);
    expect(await bad({ model: 'mistral', messages: [] })).toEqual([404, { error: 'model "mistral" not found, try pulling it first' }]);
  });

  it('faults: status bodies are {"error": "..."}, and an error-event is a last {"error"} line under the 200', async () => {
    const fake = await start({ behaviour: { chunks: 3 } });
    fake.enqueue({ kind: 'status', status: 500 }, { kind: 'error-event', afterChunks: 1 });
    const failed = await post(`${fake.baseUrl}/api/chat`, chat({ stream: false }));
    expect([failed.statusCode, await failed.body.json()]).toEqual([500, { error: 'an error was encountered while running the model' }]);
    const res = await post(`${fake.baseUrl}/api/chat`, chat());
    expect(res.statusCode).toBe(200);
    const lines = (await res.body.text()).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[1]).toEqual({ error: 'The fake upstream failed mid-stream (scripted).' });
  });

  it('/api/embed, /api/tags, /api/version and GET /', async () => {
    const fake = await start();
    const embed = (await (await post(`${fake.baseUrl}/api/embed`, { model: 'all-minilm', input: ['a', 'b c'] })).body.json()) as any;
    expect([embed.embeddings.length, embed.embeddings[0].length, embed.prompt_eval_count]).toEqual([2, 16, 3]);
    expect(((await (await request(`${fake.baseUrl}/api/tags`)).body.json()) as any).models[0].name).toBe('llama3.2');
    expect(await (await request(`${fake.baseUrl}/api/version`)).body.json()).toEqual({ version: '0.13.0' });
    expect(await (await request(`${fake.baseUrl}/`)).body.text()).toBe('Ollama is running');
    expect(fake.stats.requests).toBe(1);
  });
});
