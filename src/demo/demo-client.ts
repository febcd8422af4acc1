import { request } from 'undici';
import { SseDecoder } from '../upstream/sse-decoder.js';

export interface DemoCall {
  readonly n: number;
  readonly tenant: string;
  readonly key: string;
  readonly model: string;
  readonly stream: boolean;
}

export interface DemoResult {
  readonly call: DemoCall;
  readonly status: number;
  readonly deployment: string | undefined;
  readonly servedModel: string | undefined;
  readonly attempts: string | undefined;
  readonly retryAfter: string | undefined;
  readonly ms: number;
  /** The reply text, or the error message. */
  readonly text: string;
  /** Streams: number of chunks received. */
  readonly chunks: number;
}

/** Sends one chat completion to the gateway the way an OpenAI client would, and reads the answer. */
export async function sendDemoCall(baseUrl: string, call: DemoCall): Promise<DemoResult> {
  const started = performance.now();
  const res = await request(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${call.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: call.model,
      messages: [{ role: 'user', content: `Request ${call.n}: say hello` }],
      stream: call.stream,
      ...(call.stream ? { stream_options: { include_usage: true } } : {}),
    }),
  });
  const header = (name: string): string | undefined => {
    const v = res.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  let text = '';
  let chunks = 0;
  if (res.statusCode === 200 && call.stream) {
    const decoder = new SseDecoder();
    for await (const buf of res.body) {
      for (const event of decoder.push(buf as Uint8Array)) {
        if (event.data === '[DONE]') continue;
        chunks++;
        const chunk = JSON.parse(event.data) as { choices?: Array<{ delta?: { content?: string } }>; error?: { message: string } };
        if (chunk.error) text += `[stream error: ${chunk.error.message}]`;
        text += chunk.choices?.[0]?.delta?.content ?? '';
      }
    }
  } else {
    const body = (await res.body.json()) as { choices?: Array<{ message?: { content?: string } }>; error?: { message: string } };
    text = body.error?.message ?? body.choices?.[0]?.message?.content ?? '';
  }
  return {
    call,
    status: res.statusCode,
    deployment: header('x-gateway-provider'),
    servedModel: header('x-gateway-model'),
    attempts: header('x-gateway-attempts'),
    retryAfter: header('retry-after'),
    ms: performance.now() - started,
    text,
    chunks,
  };
}
