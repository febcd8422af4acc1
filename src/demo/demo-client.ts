import { request } from 'undici';
import { SseDecoder } from '../upstream/sse-decoder.js';

export interface DemoCall {
  readonly n: number;
  readonly tenant: string;
  readonly key: string;
  readonly model: string;
  readonly stream: boolean;
  /** The user message; default `Request <n>: say hello`. */
  readonly prompt?: string;
  readonly maxTokens?: number;
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
  /** What the gateway said the call cost (US dollars, a decimal string); undefined when it named none. */
  readonly costUsd: string | undefined;
  /** The cost is an estimate (the provider reported no usage). */
  readonly costEstimated: boolean;
  /** Errors: the error's `code`. */
  readonly errorCode: string | undefined;
  readonly shouldRetry: string | undefined;
}

interface StreamChunk {
  choices?: Array<{ delta?: { content?: string } }>;
  usage?: { cost_usd?: string; cost_estimated?: boolean } | null;
  error?: { message: string };
}

/**
 * Sends one chat completion to the gateway the way an OpenAI client would, and reads the answer
 * and its cost: the `x-gateway-cost-usd` header of a JSON reply, or `usage.cost_usd` in the
 * final usage chunk of a stream (which the client asks for with `include_usage`).
 */
export async function sendDemoCall(baseUrl: string, call: DemoCall): Promise<DemoResult> {
  const started = performance.now();
  const res = await request(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${call.key}`, 'content-type': 'application/json' },
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
    body: JSON.stringify({
      model: call.model,
      messages: [{ role: 'user', content: call.prompt ?? `Request ${call.n}: say hello` }],
      stream: call.stream,
      ...(call.maxTokens === undefined ? {} : { max_tokens: call.maxTokens }),
      ...(call.stream ? { stream_options: { include_usage: true } } : {}),
    }),
  });
  const header = (name: string): string | undefined => {
    const v = res.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  let text = '';
  let chunks = 0;
  let costUsd = header('x-gateway-cost-usd');
  let costEstimated = header('x-gateway-cost-estimated') === 'true';
  let errorCode: string | undefined;
  if (res.statusCode === 200 && call.stream) {
    const decoder = new SseDecoder();
    for await (const buf of res.body) {
      for (const event of decoder.push(buf as Uint8Array)) {
        if (event.data === '[DONE]') continue;
        chunks++;
        const chunk = JSON.parse(event.data) as StreamChunk;
        if (chunk.error) text += `[stream error: ${chunk.error.message}]`;
        text += chunk.choices?.[0]?.delta?.content ?? '';
        if (chunk.usage?.cost_usd !== undefined) {
          costUsd = chunk.usage.cost_usd;
          costEstimated = chunk.usage.cost_estimated === true;
        }
      }
    }
  } else {
    const body = (await res.body.json()) as { choices?: Array<{ message?: { content?: string } }>; error?: { message: string; code?: string | null } };
    text = body.error?.message ?? body.choices?.[0]?.message?.content ?? '';
    errorCode = body.error?.code ?? undefined;
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
    costUsd,
    costEstimated,
    errorCode,
    shouldRetry: header('x-should-retry'),
  };
}
