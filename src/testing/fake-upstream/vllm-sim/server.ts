import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { systemClock } from '../../../clock.js';
import { isRecord } from '../../../is-record.js';
import { parseBody, readBody } from '../exchange.js';
import { openAiError } from '../openai-error.js';
import { Engine, type Sequence, type SequenceListener } from './engine.js';
import { EngineLoop } from './engine-loop.js';
import { renderMetrics } from './metrics.js';
import { simParams, type SimParams } from './params.js';
import { chatPromptText, countTokens, outputToken, promptBlockHashes } from './tokenize.js';

/**
 * `vllm-sim`: a simulated vLLM server on a real socket, stateful across requests (engine.ts has
 * the model of batching, KV cache and prefix cache; tokenize.ts the tokenizer). It speaks
 * OpenAI's `/v1/chat/completions` and `/v1/completions` (SSE streams with one content delta per
 * token, or JSON), `/v1/models`, `/health` and vLLM-format `/metrics`. Every request generates
 * exactly its `max_completion_tokens`/`max_tokens` (like ignore_eos; default and cap in params),
 * and its usage reports `prompt_tokens_details.cached_tokens` = the prefix-cache hit.
 * Start with `VllmSim.start`, always `close()` it.
 */
export interface VllmSimOptions extends Partial<SimParams> {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
}

export interface VllmSimStats {
  /** Generation requests the engine was given, rejected ones included. */
  requests: number;
  /** Refused: too long (400) or waiting queue full (503). */
  rejected: number;
  completed: number;
  /** Clients gone before the last token. */
  aborted: number;
  running: number;
  /** Waiting (queued) for KV cache or batch room now. */
  waiting: number;
  promptTokens: number;
  generationTokens: number;
  prefixQueryTokens: number;
  prefixHitTokens: number;
}

type Route = 'chat' | 'completions';

interface Generation {
  route: Route;
  model: string;
  created: number;
  stream: boolean;
  includeUsage: boolean;
  /** Whether the request set a length: then the finish reason is `length`, else `stop`. */
  explicitLength: boolean;
}

function dialHost(address: AddressInfo): string {
  if (address.address === '0.0.0.0' || address.address === '::') return '127.0.0.1';
  return address.family === 'IPv6' ? `[${address.address}]` : address.address;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export class VllmSim {
  readonly params: Readonly<SimParams>;
  readonly #engine: Engine;
  readonly #loop: EngineLoop;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #origin = '';
  #closed: Promise<void> | undefined;

  private constructor(params: SimParams) {
    this.params = params;
    this.#engine = new Engine(params, systemClock);
    this.#loop = new EngineLoop(this.#engine);
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  /** Starts a simulator on host:port (default 127.0.0.1:0). Throws RangeError on bad parameters. */
  static async start(options: VllmSimOptions = {}): Promise<VllmSim> {
    const { host, port, ...params } = options;
    const sim = new VllmSim(simParams(params));
    await new Promise<void>((resolve, reject) => {
      sim.#server.once('error', reject);
      sim.#server.listen(port ?? 0, host ?? '127.0.0.1', () => {
        sim.#server.off('error', reject);
        resolve();
      });
    });
    sim.#origin = `http://${dialHost(sim.#server.address() as AddressInfo)}:${sim.port}`;
    return sim;
  }

  /** `http://HOST:PORT/v1`, what an OpenAI client takes. */
  get baseUrl(): string {
    return `${this.#origin}/v1`;
  }

  /** `http://HOST:PORT/metrics`. */
  get metricsUrl(): string {
    return `${this.#origin}/metrics`;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  stats(): VllmSimStats {
    const { running, waiting, counters } = this.#engine.snapshot();
    return { ...counters, running, waiting };
  }

  /** Stops listening, the engine and every connection (their sequences are aborted). */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.#loop.close();
      this.#server.close(() => resolve());
      for (const socket of this.#sockets) socket.destroy();
    });
    return this.#closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    try {
      if (method === 'POST' && path === '/v1/chat/completions') return await this.#generate(req, res, 'chat');
      if (method === 'POST' && path === '/v1/completions') return await this.#generate(req, res, 'completions');
      req.resume();
      if (method === 'GET' && path === '/health') {
        res.writeHead(200, { 'content-length': 0 });
        res.end();
      } else if (method === 'GET' && path === '/metrics') {
        const text = renderMetrics(this.#engine.snapshot(), this.params.model);
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      } else if (method === 'GET' && path === '/v1/models') {
        const created = Math.floor(Date.now() / 1000);
        const model = { id: this.params.model, object: 'model', created, owned_by: 'vllm', root: this.params.model, parent: null, max_model_len: this.#engine.maxModelLen };
        sendJson(res, 200, { object: 'list', data: [model] });
      } else sendJson(res, 404, openAiError(404, `Not found: ${method} ${path}`));
    } catch (error) {
      if (req.socket.destroyed) return;
      if (!res.headersSent) sendJson(res, 500, openAiError(500, `vllm-sim bug: ${String(error)}`));
      else req.socket.destroy();
    }
  }

  async #generate(req: IncomingMessage, res: ServerResponse, route: Route): Promise<void> {
    const raw = await readBody(req);
    if (raw === undefined) return sendJson(res, 413, openAiError(413, 'Request body too large.'));
    const body = parseBody(raw);
    if (!isRecord(body)) return sendJson(res, 400, openAiError(400, 'The body must be a JSON object.'));
    const model = body['model'] ?? this.params.model;
    if (model !== this.params.model) {
      return sendJson(res, 404, openAiError(404, `The model \`${String(model)}\` does not exist.`, null, 'model_not_found'));
    }
    const prompt = route === 'chat' ? chatPrompt(body['messages']) : completionPrompt(body['prompt']);
    if (typeof prompt !== 'string') return sendJson(res, 400, openAiError(400, prompt.error, prompt.param));
    const length = body['max_completion_tokens'] ?? body['max_tokens'];
    if (length !== undefined && length !== null && !(Number.isInteger(length) && (length as number) >= 1)) {
      return sendJson(res, 400, openAiError(400, 'max_tokens must be an integer >= 1.', 'max_tokens'));
    }
    const outputTokens = typeof length === 'number' ? Math.min(length, this.params.maxOutputTokens) : this.params.defaultOutputTokens;
    const streamOptions = body['stream_options'];
    const generation: Generation = {
      route,
      model: this.params.model,
      created: Math.floor(Date.now() / 1000),
      stream: body['stream'] === true,
      includeUsage: isRecord(streamOptions) && streamOptions['include_usage'] === true,
      explicitLength: typeof length === 'number',
    };
    if (this.#closed !== undefined) return sendJson(res, 503, openAiError(503, 'vllm-sim is shutting down.'));
    const submitted = this.#engine.submit({
      promptTokens: countTokens(prompt),
      blockHashes: () => promptBlockHashes(prompt),
      outputTokens,
      listener: generation.stream ? streamListener(res, generation) : jsonListener(res, generation),
    });
    if (!submitted.ok) {
      const status = submitted.reason === 'too_long' ? 400 : 503;
      return sendJson(res, status, openAiError(status, submitted.message));
    }
    const seq = submitted.seq;
    res.once('close', () => {
      if (!res.writableFinished) this.#engine.abort(seq);
    });
    this.#loop.kick();
  }
}

function chatPrompt(messages: unknown): string | { error: string; param: string } {
  if (!Array.isArray(messages) || messages.length === 0) return { error: "'messages' must be a non-empty array.", param: 'messages' };
  const bad = messages.findIndex((m) => !isRecord(m) || typeof m['role'] !== 'string');
  if (bad >= 0) return { error: `'messages[${bad}]' must be an object with a string 'role'.`, param: `messages[${bad}]` };
  return chatPromptText(messages as Array<Record<string, unknown>>);
}

function completionPrompt(prompt: unknown): string | { error: string; param: string } {
  if (typeof prompt === 'string' && prompt !== '') return prompt;
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string' && prompt[0] !== '') return prompt[0];
  return { error: "'prompt' must be a non-empty string (or an array of exactly one).", param: 'prompt' };
}

function usage(seq: Sequence): object {
  return {
    prompt_tokens: seq.promptTokens,
    completion_tokens: seq.generated,
    total_tokens: seq.promptTokens + seq.generated,
    prompt_tokens_details: { cached_tokens: seq.cachedTokens },
  };
}

function ids(seq: Sequence, g: Generation): { id: string; object: string } {
  return g.route === 'chat'
    ? { id: `chatcmpl-sim-${seq.id}`, object: g.stream ? 'chat.completion.chunk' : 'chat.completion' }
    : { id: `cmpl-sim-${seq.id}`, object: 'text_completion' };
}

/** SSE: headers and (chat) the role chunk with the first token, one chunk per token, finish, usage, [DONE]. */
function streamListener(res: ServerResponse, g: Generation): SequenceListener {
  const frame = (seq: Sequence, choices: unknown[], usageBody?: object): void => {
    const chunk = { ...ids(seq, g), created: g.created, model: g.model, choices };
    res.write(`data: ${JSON.stringify(g.includeUsage ? { ...chunk, usage: usageBody ?? null } : chunk)}\n\n`);
  };
  const choice = (text: string | undefined, finish: string | null): object =>
    g.route === 'chat'
      ? { index: 0, delta: text === undefined ? {} : { content: text }, logprobs: null, finish_reason: finish }
      : { index: 0, text: text ?? '', logprobs: null, finish_reason: finish };
  return {
    token(seq, index) {
      if (index === 0) {
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
        if (g.route === 'chat') frame(seq, [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
      }
      frame(seq, [choice(outputToken(index), null)]);
    },
    finish(seq) {
      frame(seq, [choice(undefined, g.explicitLength ? 'length' : 'stop')]);
      if (g.includeUsage) frame(seq, [], usage(seq));
      res.end('data: [DONE]\n\n');
    },
  };
}

/** JSON: the whole answer once the last token is out. */
function jsonListener(res: ServerResponse, g: Generation): SequenceListener {
  return {
    token() {},
    finish(seq) {
      let text = '';
      for (let i = 0; i < seq.generated; i++) text += outputToken(i);
      const finish = g.explicitLength ? 'length' : 'stop';
      const choice = g.route === 'chat'
        ? { index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: finish }
        : { index: 0, text, logprobs: null, finish_reason: finish };
      sendJson(res, 200, { ...ids(seq, g), created: g.created, model: g.model, choices: [choice], usage: usage(seq) });
    },
  };
}
