import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { fakeStarter } from './dialect-test-kit.js';

const start = fakeStarter('gemini');

function post(url: string, body: unknown, headers: Record<string, string> = {}): ReturnType<typeof request> {
  return request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

const user = (text: string) => ({ contents: [{ role: 'user', parts: [{ text }] }] });

describe('gemini fake', () => {
  it('generateContent: candidates, finishReason, usageMetadata with thoughts on 2.5 models', async () => {
    const fake = await start({ behaviour: { reply: 'alpha beta gamma' } });
    expect(fake.baseUrl).toBe(`http://127.0.0.1:${fake.port}/v1beta`);
    const res = await post(`${fake.baseUrl}/models/gemini-2.5-flash:generateContent`, user('hi there'));
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({
      candidates: [{ content: { parts: [{ text: 'alpha beta gamma' }], role: 'model' }, finishReason: 'STOP', index: 0 }],
      usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 3, totalTokenCount: 13, promptTokensDetails: [{ modality: 'TEXT', tokenCount: 3 }], thoughtsTokenCount: 7 },
      modelVersion: 'gemini-2.5-flash',
      responseId: 'fakeResp1',
    });
  });

  it('countTokens: contents or a whole generateContentRequest, counted like promptTokenCount; not an inference request', async () => {
    const fake = await start({ models: ['gemini-2.5-flash'] });
    const url = `${fake.baseUrl}/models/gemini-2.5-flash:countTokens`;
    const plain = await post(url, user('hi there'));
    expect(await plain.body.json()).toEqual({ totalTokens: 3, promptTokensDetails: [{ modality: 'TEXT', tokenCount: 3 }] });
    const whole = await post(url, { generateContentRequest: { model: 'models/gemini-2.5-flash', ...user('hi there'), systemInstruction: { parts: [{ text: 'be brief' }] } } });
    expect(((await whole.body.json()) as { totalTokens: number }).totalTokens).toBe(5);
    expect((await post(url, { generateContentRequest: { ...user('x'), generationConfig: { bogus: 1 } } })).statusCode).toBe(400);
    expect((await post(url, { contents: [] })).statusCode).toBe(400);
    expect((await post(url, { ...user('x'), extra: 1 })).statusCode).toBe(400);
    expect((await post(`${fake.baseUrl}/models/other:countTokens`, user('x'))).statusCode).toBe(404);
    expect(fake.stats.requests).toBe(0);
  });

  it('alt=sse: CRLF-framed data events, usage on each, finishReason on the last, no [DONE]', async () => {
    const fake = await start({ behaviour: { reply: 'one two three four', chunks: 2 } });
    const res = await post(`${fake.baseUrl}/models/gemini-2.0-flash:streamGenerateContent?alt=sse`, user('x'));
    expect(res.headers['content-type']).toBe('text/event-stream');
    const text = await res.body.text();
    const frames = text.split('\r\n\r\n');
    expect(frames.at(-1)).toBe('');
    expect(text).not.toContain('[DONE]');
    const events = frames.slice(0, -1).map((f) => JSON.parse(f.replace(/^data: /, '')));
    expect(events.map((e) => e.candidates[0].content.parts[0].text)).toEqual(['one two ', 'three four']);
    expect(events.map((e) => e.candidates[0].finishReason)).toEqual([undefined, 'STOP']);
    expect(events.map((e) => e.usageMetadata.candidatesTokenCount)).toEqual([2, 4]);
  });

  it('without alt=sse the stream is one JSON array', async () => {
    const fake = await start({ behaviour: { reply: 'one two', chunks: 2 } });
    const res = await post(`${fake.baseUrl}/models/gemini-2.0-flash:streamGenerateContent`, user('x'));
    expect(res.headers['content-type']).toBe('application/json; charset=UTF-8');
    expect((JSON.parse(await res.body.text()) as unknown[]).length).toBe(2);
  });

  it('tools: one whole functionCall with schema-shaped args; Gemini 3 signs it and demands it back', async () => {
    const fake = await start();
    const tools = [{ functionDeclarations: [{ name: 'get_weather', parametersJsonSchema: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } } } }] }];
    const res = await post(`${fake.baseUrl}/models/gemini-3-pro-preview:generateContent`, { ...user('weather?'), tools });
    const body = (await res.body.json()) as any;
    const part = body.candidates[0].content.parts[0];
    expect(part.functionCall).toEqual({ name: 'get_weather', args: { city: 'sample', days: 1 } });
    expect(typeof part.thoughtSignature).toBe('string');
    const replay = {
      contents: [...user('weather?').contents, { role: 'model', parts: [{ functionCall: part.functionCall }] }, { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { ok: 1 } } }] }],
      tools,
    };
    const refused = await post(`${fake.baseUrl}/models/gemini-3-pro-preview:generateContent`, replay);
    expect(refused.statusCode).toBe(400);
    expect(((await refused.body.json()) as any).error.message).toContain('missing a thought_signature');
    replay.contents[1] = { role: 'model', parts: [{ functionCall: part.functionCall, thoughtSignature: part.thoughtSignature }] } as never;
    const ok = await post(`${fake.baseUrl}/models/gemini-3-pro-preview:generateContent`, replay);
    expect(ok.statusCode).toBe(200);
    expect(((await ok.body.json()) as any).candidates[0].content.parts[0].text).toContain('Hello from fake-gemini');
  });

  it('rejects what the real service rejects: unknown fields, the assistant role, empty contents', async () => {
    const fake = await start();
    const url = `${fake.baseUrl}/models/gemini-2.0-flash:generateContent`;
    const cases: Array<[unknown, string]> = [
      [{ ...user('x'), max_tokens: 5 }, 'Invalid JSON payload received. Unknown name "max_tokens": Cannot find field.'],
      [{ ...user('x'), generationConfig: { max_output_tokens: 5 } }, 'Invalid JSON payload received. Unknown name "max_output_tokens" at \'generation_config\': Cannot find field.'],
      [{ contents: [{ role: 'assistant', parts: [{ text: 'x' }] }] }, 'Please use a valid role: user, model.'],
      [{ contents: [] }, '* GenerateContentRequest.contents: contents is not specified\n'],
    ];
    for (const [body, message] of cases) {
      const res = await post(url, body);
      expect(res.statusCode).toBe(400);
      expect(await res.body.json()).toEqual({ error: { code: 400, message, status: 'INVALID_ARGUMENT' } });
    }
  });

  it('API key: x-goog-api-key or ?key=; missing → 403 PERMISSION_DENIED, wrong → 400', async () => {
    const fake = await start({ apiKey: 'AIza-right' });
    const url = `${fake.baseUrl}/models/gemini-2.0-flash:generateContent`;
    expect((await post(url, user('x'), { 'x-goog-api-key': 'AIza-right' })).statusCode).toBe(200);
    expect((await post(`${url}?key=AIza-right`, user('x'))).statusCode).toBe(200);
    const missing = await post(url, user('x'));
    expect([missing.statusCode, ((await missing.body.json()) as any).error.status]).toEqual([403, 'PERMISSION_DENIED']);
    const wrong = await post(url, user('x'), { 'x-goog-api-key': 'AIza-wrong' });
    expect([wrong.statusCode, ((await wrong.body.json()) as any).error.message]).toEqual([400, 'API key not valid. Please pass a valid API key.']);
  });

  it('a 429 fault carries RetryInfo in the body (not a header); unknown models are 404 NOT_FOUND', async () => {
    const fake = await start({ models: ['gemini-2.0-flash'] });
    fake.enqueue({ kind: 'status', status: 429 });
    const limited = await post(`${fake.baseUrl}/models/gemini-2.0-flash:generateContent`, user('x'));
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBeUndefined();
    const body = (await limited.body.json()) as any;
    expect(body.error.status).toBe('RESOURCE_EXHAUSTED');
    expect(body.error.details).toContainEqual({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1s' });
    const missing = await post(`${fake.baseUrl}/models/gemini-9:generateContent`, user('x'));
    expect([missing.statusCode, ((await missing.body.json()) as any).error.status]).toEqual([404, 'NOT_FOUND']);
  });

  it('error-event fault: k events, then an RPC error as a data event, then the end', async () => {
    const fake = await start({ behaviour: { chunks: 4 } });
    fake.enqueue({ kind: 'error-event', afterChunks: 1 });
    const res = await post(`${fake.baseUrl}/models/gemini-2.0-flash:streamGenerateContent?alt=sse`, user('x'));
    const frames = (await res.body.text()).split('\r\n\r\n').filter((f) => f !== '');
    expect(frames).toHaveLength(2);
    expect(JSON.parse(frames[1]!.replace(/^data: /, ''))).toEqual({ error: { code: 500, message: 'The fake upstream failed mid-stream (scripted).', status: 'INTERNAL' } });
  });

  it('embeddings: embedContent and batchEmbedContents (model per request must match the URL)', async () => {
    const fake = await start();
    const one = await post(`${fake.baseUrl}/models/text-embedding-004:embedContent`, { content: { parts: [{ text: 'a' }] }, outputDimensionality: 4 });
    expect(((await one.body.json()) as any).embedding.values).toHaveLength(4);
    const batch = await post(`${fake.baseUrl}/models/text-embedding-004:batchEmbedContents`, { requests: [{ model: 'models/text-embedding-004', content: { parts: [{ text: 'a' }] } }] });
    expect(((await batch.body.json()) as any).embeddings[0].values).toHaveLength(16);
    const mismatch = await post(`${fake.baseUrl}/models/text-embedding-004:batchEmbedContents`, { requests: [{ model: 'models/other', content: { parts: [{ text: 'a' }] } }] });
    expect(mismatch.statusCode).toBe(400);
  });
});
