/**
 * `POST /v1/responses` to deployments that serve the Responses API themselves
 * (`deployments.*.responsesApi`), end to end over real sockets against the fake's Responses
 * API: the upstream gets the native body (the deployment's model, `store: false`, no
 * `previous_response_id`, no unresolvable reasoning items), the client gets the gateway's
 * response id and the alias, JSON and stream; an error before any content fails over.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { chat, deploymentFor, startHarness, type Harness, type HttpResult } from './helpers/harness.js';
import { responsesEvents, textStreamTypes } from './helpers/responses-sse.js';

type Json = Record<string, any>;

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const REPLY = 'Native reply from the Responses API.';

/** Two OpenAI fakes with the Responses API; alias `chat` prefers `first`, then `second`. */
async function start(): Promise<[Harness, FakeUpstream, FakeUpstream]> {
  h = await startHarness({
    fakes: [
      { dialect: 'openai', name: 'first', behaviour: { reply: REPLY, chunks: 3 } },
      { dialect: 'openai', name: 'second', behaviour: { reply: REPLY, chunks: 3 } },
    ],
    config: (f) => ({
      deployments: { first: deploymentFor(f[0]!, { responsesApi: true }), second: deploymentFor(f[1]!, { responsesApi: true }) },
      models: { chat: { strategy: 'priority', targets: [{ deployment: 'first', model: 'served-a', priority: 0 }, { deployment: 'second', model: 'served-b', priority: 1 }] } },
    }),
  });
  return [h, h.fakes[0]!, h.fakes[1]!];
}

function responses(harness: Harness, body: Json): Promise<HttpResult> {
  return chat(harness.url, { model: 'chat', ...body }, { path: '/v1/responses', signal: AbortSignal.timeout(20_000) });
}

const input = [
  { role: 'user', content: 'What is the capital of France?' },
  // Without encrypted_content the upstream (store: false) could not resolve it: left out.
  { type: 'reasoning', id: 'rs_stored_only', summary: [] },
  { type: 'reasoning', id: 'rs_portable', summary: [], encrypted_content: 'gAAAAportable' },
  // An id from another provider's answer (or the gateway's store) names nothing upstream: not sent.
  { type: 'message', id: 'msg_from_elsewhere', role: 'assistant', content: 'Paris.' },
  { role: 'user', content: 'And of Italy?' },
];

describe('/v1/responses on a deployment with responsesApi', () => {
  it('JSON: the upstream gets the native body; the client gets our id, the alias and the upstream answer', async () => {
    const [harness, first, second] = await start();
    const res = await responses(harness, { input, instructions: 'Be brief.', temperature: 0.2, metadata: { k: 'v' } });
    expect(res.status, res.text).toBe(200);
    expect(res.headers['x-gateway-provider']).toBe('first');
    const sent = first.received.at(-1)!;
    expect(sent.path).toBe('/v1/responses');
    expect(sent.body).toMatchObject({ model: 'served-a', store: false, stream: false, instructions: 'Be brief.', temperature: 0.2, metadata: { k: 'v' } });
    expect(sent.body).not.toHaveProperty('previous_response_id');
    expect((sent.body as Json).input.map((i: Json) => (i.type === 'reasoning' ? i.id : i.role))).toEqual(['user', 'rs_portable', 'assistant', 'user']);
    // Ids only name items in an upstream's own store; the reasoning item keeps its own beside its encrypted content.
    expect((sent.body as Json).input.map((i: Json) => i.id)).toEqual([undefined, 'rs_portable', undefined, undefined]);
    expect(second.received).toHaveLength(0);
    const r = res.json() as Json;
    expect(r.id).toMatch(/^resp_[0-9a-f]{16,}$/);
    // The upstream was sent store:false; the client asked for nothing, so OpenAI's default (stored).
    expect(r).toMatchObject({ store: true, previous_response_id: null });
    expect(r).toMatchObject({ object: 'response', model: 'chat', status: 'completed', instructions: 'Be brief.', output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: REPLY }] }] });
    expect(r.usage).toMatchObject({ input_tokens: expect.any(Number), output_tokens: 6, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } });
  });

  it('stream: the upstream events as sent, numbered from 0, with our id and the alias in every response they carry', async () => {
    const [harness, first] = await start();
    const res = await responses(harness, { input: 'Hi', stream: true });
    expect(res.status, res.text).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(res.text).not.toContain('[DONE]');
    expect(first.received.at(-1)!.body).toMatchObject({ model: 'served-a', store: false, stream: true });
    const events = responsesEvents(res.text);
    const ids = new Set<string>();
    events.forEach((e, i) => {
      expect(e.event).toBe(e.data.type);
      expect(e.data.sequence_number).toBe(i);
      if (e.data.response) {
        expect(e.data.response.model).toBe('chat');
        expect(e.data.response).toMatchObject({ store: true, previous_response_id: null });
        ids.add(e.data.response.id);
      }
    });
    expect([...ids]).toHaveLength(1);
    expect([...ids][0]).toMatch(/^resp_[0-9a-f]{16,}$/);
    expect(events.map((e) => e.data.type)).toEqual(textStreamTypes(3));
    expect(events.filter((e) => e.data.type === 'response.output_text.delta').map((e) => e.data.delta).join('')).toBe(REPLY);
    expect(events.at(-1)!.data.response.usage).toMatchObject({ output_tokens: 6 });
  });

  it('an error right after response.created/in_progress fails over: the client sees one clean stream from the second deployment', async () => {
    const [harness, first, second] = await start();
    first.enqueue({ kind: 'error-event', afterChunks: 2 });
    const res = await responses(harness, { input: 'Hi', stream: true });
    expect(res.status, res.text).toBe(200);
    expect(res.headers['x-gateway-provider']).toBe('second');
    expect(res.headers['x-gateway-attempts']).toBe('2');
    expect(first.stats.faulted).toBe(1);
    expect(second.received.at(-1)!.body).toMatchObject({ model: 'served-b', store: false });
    const events = responsesEvents(res.text).map((e) => e.data);
    expect(events.filter((e) => e.type === 'error' || e.type === 'response.failed')).toEqual([]);
    expect(events.filter((e) => e.type === 'response.created')).toHaveLength(1);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_e, i) => i));
    expect(events.at(-1)).toMatchObject({ type: 'response.completed', response: { model: 'chat', status: 'completed' } });
  });

  it('an error after content ends the stream with one error event, numbered after the last one sent', async () => {
    const [harness, first, second] = await start();
    // Events apart in time, so the first delta commits the stream before the error comes (the
    // fake writes the error right after the last event: in one read with the first delta,
    // nothing would have been sent yet and the request would fail over, unseen).
    first.setBehaviour({ chunkIntervalMs: 40 });
    first.enqueue({ kind: 'error-event', afterChunks: 6 });
    const res = await responses(harness, { input: 'Hi', stream: true });
    expect(res.status).toBe(200);
    const events = responsesEvents(res.text).map((e) => e.data);
    expect(events.map((e) => e.type)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added', 'response.output_text.delta', 'response.output_text.delta', 'error']);
    expect(events.at(-1)).toMatchObject({ type: 'error', code: 'upstream_error', sequence_number: 6 });
    expect(res.headers['x-gateway-provider']).toBe('first');
    expect(second.received).toHaveLength(0);
  });

  it('JSON: an upstream 500 fails over to the second deployment', async () => {
    const [harness, first, second] = await start();
    first.enqueue({ kind: 'status', status: 500 }, { kind: 'status', status: 500 }, { kind: 'status', status: 500 });
    const res = await responses(harness, { input: 'Hi' });
    expect(res.status, res.text).toBe(200);
    expect(res.headers['x-gateway-provider']).toBe('second');
    expect(second.received.at(-1)!.body).toMatchObject({ model: 'served-b', store: false });
    expect((res.json() as Json).model).toBe('chat');
  });
});

describe('/v1/responses on Azure (native by default)', () => {
  it.each([
    ['classic surface', (origin: string) => ({ provider: 'azure', baseUrl: `${origin}/openai`, apiVersion: '2025-04-01-preview' }), '/openai/responses', 'api-version=2025-04-01-preview'],
    ['v1 surface', (origin: string) => ({ provider: 'azure', baseUrl: `${origin}/openai/v1` }), '/openai/v1/responses', ''],
  ])('%s: the native body at Azure\'s path, the deployment as model', async (_name, deployment, path, query) => {
    h = await startHarness({
      fakes: [{ dialect: 'openai', behaviour: { reply: REPLY }, apiKey: 'az-key', models: ['my-deploy'] }],
      env: { AZ: 'az-key' },
      config: (f) => ({
        deployments: { az: { ...deployment(f[0]!.baseUrl.replace(/\/v1$/, '')), apiKey: '${env:AZ}' } },
        models: { chat: { targets: [{ deployment: 'az', model: 'my-deploy' }] } },
      }),
    });
    const res = await responses(h, { input: 'Hi', stream: true });
    expect(res.status, res.text).toBe(200);
    const sent = h.fakes[0]!.received.at(-1)!;
    expect([sent.path, sent.query]).toEqual([path, query]);
    expect(sent.body).toMatchObject({ model: 'my-deploy', store: false, stream: true });
    expect(responsesEvents(res.text).at(-1)!.data).toMatchObject({ type: 'response.completed', response: { model: 'chat' } });
  });
});
