/**
 * Issue 9 §7: content an upstream fetches by itself (image, audio, video, document URLs) is an
 * SSRF path into a self-hosted upstream's network. Deployments refuse remote URLs by default
 * where the server is self-hosted (allowsRemoteMedia in config/schema.ts); `data:` URLs pass.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { allowsRemoteMedia } from '../src/config/schema.js';
import { chat, chatBody, deploymentFor, KEY, startHarness, type Harness, type HttpResult } from './helpers/harness.js';

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

const metadataUrl = 'http://169.254.169.254/latest/meta-data/iam/';
const dataUrl = 'data:image/png;base64,iVBORw0KGgo=';
const withPart = (part: Record<string, unknown>) => [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, part] }];
const messages = (h: Harness, body: Record<string, unknown>): Promise<HttpResult> =>
  chat(h.url, { max_tokens: 32, ...body }, { path: '/v1/messages', key: null, headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' } });

async function start(): Promise<Harness> {
  const h = await startHarness({
    fakes: [{ dialect: 'openai' }, { dialect: 'openai' }, { dialect: 'anthropic' }],
    config: ([oa, oa2, an]) => ({
      deployments: {
        vl: deploymentFor(oa!, { provider: 'vllm' }),
        vlAllowed: deploymentFor(oa2!, { provider: 'vllm', allowRemoteMedia: true }),
        local: deploymentFor(oa!, { provider: 'openai' }),
        an: deploymentFor(an!),
      },
      models: {
        v: { targets: [{ deployment: 'vl', model: 'x' }] },
        va: { targets: [{ deployment: 'vlAllowed', model: 'x' }] },
        o: { targets: [{ deployment: 'local', model: 'x' }] },
        a: { targets: [{ deployment: 'an', model: 'claude-x' }] },
        mixed: { strategy: 'priority', targets: [{ deployment: 'vl', model: 'x', priority: 0 }, { deployment: 'vlAllowed', model: 'x', priority: 1 }] },
      },
    }),
  });
  open.push(h);
  return h;
}

const posts = (h: Harness, i: number): number => h.fakes[i]!.received.filter((r) => r.method === 'POST').length;

describe('remote media in content parts (SSRF, issue 9 §7)', () => {
  it.each([
    ['an image_url link', { type: 'image_url', image_url: { url: metadataUrl } }, 'messages[0].content[1].image_url.url'],
    ['an image_url given as a bare string (vLLM)', { type: 'image_url', image_url: metadataUrl }, 'messages[0].content[1].image_url'],
    ['a vLLM audio_url with a file: URL', { type: 'audio_url', audio_url: { url: 'file:///etc/passwd' } }, 'messages[0].content[1].audio_url.url'],
    ['a vLLM video_url with leading spaces and upper case', { type: 'video_url', video_url: { url: '  HTTP://10.0.0.1/v.mp4' } }, 'messages[0].content[1].video_url.url'],
  ])('chat to a vllm deployment: %s is refused with 400 naming the part; nothing is sent', async (_name, part, param) => {
    const h = await start();
    const res = await chat(h.url, chatBody('v', { messages: withPart(part) }));
    expect(res.status).toBe(400);
    expect(res.json().error).toMatchObject({ type: 'invalid_request_error', code: 'unsupported_parameter', param });
    expect(res.json().error.message).toContain('data: URL');
    expect(posts(h, 0)).toBe(0);
  });

  it('an openai-type deployment that is not api.openai.com refuses too', async () => {
    const h = await start();
    const res = await chat(h.url, chatBody('o', { messages: withPart({ type: 'image_url', image_url: { url: metadataUrl } }) }));
    expect(res.status).toBe(400);
    expect(res.json().error.param).toBe('messages[0].content[1].image_url.url');
  });

  it('data: URLs, and input_audio / file parts (inline bytes), still pass', async () => {
    const h = await start();
    const parts = [
      { type: 'image_url', image_url: { url: dataUrl, detail: 'low' } },
      { type: 'image_url', image_url: ' DATA:image/png;base64,AAAA' },
      { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
      { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBER', filename: 'a.pdf' } },
    ];
    const res = await chat(h.url, chatBody('v', { messages: [{ role: 'user', content: parts }] }));
    expect(res.status).toBe(200);
    expect(posts(h, 0)).toBe(1);
  });

  it('allowRemoteMedia: true passes the URL through; an alias falls over to such a target', async () => {
    const h = await start();
    const body = chatBody('va', { messages: withPart({ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }) });
    expect((await chat(h.url, body)).status).toBe(200);
    expect(JSON.stringify(h.fakes[1]!.received.at(-1)?.body)).toContain('https://example.com/cat.png');
    // `mixed` prefers the refusing deployment; the one that allows remote media serves instead.
    expect((await chat(h.url, { ...body, model: 'mixed' })).status).toBe(200);
    expect(posts(h, 0)).toBe(0);
    expect(posts(h, 1)).toBe(2);
  });

  it('/v1/messages to a vllm deployment: an image url source is refused in Anthropic shape naming it', async () => {
    const h = await start();
    const res = await messages(h, {
      model: 'v',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image', source: { type: 'url', url: metadataUrl } }] }],
    });
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect(res.json().error.message).toContain("'messages[0].content[1].source.url'");
    expect(posts(h, 0)).toBe(0);
  });

  it('/v1/messages to an anthropic-type deployment that is not api.anthropic.com: url sources refused (also in tool results), base64 passes', async () => {
    const h = await start();
    const image = { type: 'image', source: { type: 'url', url: metadataUrl } };
    const direct = await messages(h, { model: 'a', messages: [{ role: 'user', content: [image] }] });
    expect(direct.status).toBe(400);
    expect(direct.json().error.message).toContain("'messages[0].content[0].source.url'");
    const nested = await messages(h, {
      model: 'a',
      messages: [
        { role: 'user', content: 'look' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'fetch', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'document', source: { type: 'url', url: metadataUrl } }] }] },
      ],
    });
    expect(nested.status).toBe(400);
    expect(nested.json().error.message).toContain("'messages[2].content[0].content[0].source.url'");
    expect(posts(h, 2)).toBe(0);
    const inline = await messages(h, { model: 'a', messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }] }] });
    expect(inline.status).toBe(200);
  });
});

describe('allowsRemoteMedia: the default by provider', () => {
  it.each([
    ['vllm', 'https://api.openai.com/v1', false],
    ['ollama', 'http://ollama:11434', false],
    ['triton', 'http://triton:8000', false],
    ['openai', 'https://api.openai.com/v1', true],
    ['openai', 'https://API.OPENAI.COM/v1', true],
    ['openai', 'http://10.0.0.5:8000/v1', false],
    ['openai', 'https://api.openai.com.evil.example/v1', false],
    ['anthropic', 'https://api.anthropic.com', true],
    ['anthropic', 'http://localhost:9000', false],
    ['azure', 'https://x.openai.azure.com', true],
    ['gemini', 'https://generativelanguage.googleapis.com', true],
    ['bedrock', 'https://bedrock-runtime.us-east-1.amazonaws.com', true],
  ] as const)('%s at %s → %s', (provider, baseUrl, allowed) => {
    expect(allowsRemoteMedia({ provider, baseUrl })).toBe(allowed);
    expect(allowsRemoteMedia({ provider, baseUrl, allowRemoteMedia: !allowed })).toBe(!allowed);
  });
});
