import { createRequire } from 'node:module';

/**
 * Packages that only some configurations use, loaded the first time something needs them
 * instead of at start-up, so a gateway pays no memory for what its config does not use (the
 * benchmark's config — OpenAI deployments, memory state, JSON logs — needs none of them).
 *
 * Each ships CommonJS, so `require` loads it synchronously: the config compiler, the state
 * backend and the logger stay synchronous, and the hot path never awaits a module. When a
 * config does need one, it is loaded while that config is compiled or started, never by the
 * first request (see the callers).
 */
const require = createRequire(import.meta.url);

function once<T>(load: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= load());
}

/** AWS Signature V4 signing and the binary event-stream codec (Bedrock). */
export const aws = once(() => {
  const { SignatureV4 } = require('@smithy/signature-v4') as typeof import('@smithy/signature-v4');
  const { Sha256 } = require('@aws-crypto/sha256-js') as typeof import('@aws-crypto/sha256-js');
  const { EventStreamCodec } = require('@smithy/core/event-streams') as typeof import('@smithy/core/event-streams');
  const { fromUtf8, toUtf8 } = require('@smithy/util-utf8') as typeof import('@smithy/util-utf8');
  return { SignatureV4, Sha256, EventStreamCodec, fromUtf8, toUtf8 };
});

/**
 * undici's index: its `request` with the global dispatcher (the budget webhook). The upstream
 * pools need only the pool, which upstream/undici-pool.ts loads without the index (fetch,
 * WebSocket, caches, mocks: 3 MB of heap).
 */
export const undici = once(() => require('undici') as typeof import('undici'));

/** The Prometheus text parser, for scraping servers' own metrics (`deployments.<d>.metrics`). */
export const prometheusText = once(() => require('parse-prometheus-text-format') as typeof import('parse-prometheus-text-format').default);

/** The Redis client (`state.backend: redis`). */
export const ioredis = once(() => require('ioredis') as typeof import('ioredis'));

/** Human-readable log lines (`logging.format: pretty`, or `auto` on a terminal). */
export const pinoPretty = once(() => require('pino-pretty') as typeof import('pino-pretty'));

/** cl100k_base tokenizer: js-tiktoken's lite build and the one rank file (≈35 MB of heap; see token-count.ts). */
export const tiktoken = once(() => {
  const { Tiktoken } = require('js-tiktoken/lite') as typeof import('js-tiktoken/lite');
  const ranks = require('js-tiktoken/ranks/cl100k_base') as ConstructorParameters<typeof Tiktoken>[0];
  return { Tiktoken, ranks };
});

/**
 * The OpenTelemetry trace SDK and its OTLP/HTTP exporters (`tracing` on): loaded when the
 * gateway is built with tracing on, never otherwise (tracing off costs no memory and no CPU).
 */
export const otel = once(() => {
  const api = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
  const base = require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const { TraceState } = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  const { resourceFromAttributes } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const { OTLPTraceExporter: OTLPProtoTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto') as typeof import('@opentelemetry/exporter-trace-otlp-proto');
  const { OTLPTraceExporter: OTLPJsonTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  return {
    api,
    BasicTracerProvider: base.BasicTracerProvider,
    BatchSpanProcessor: base.BatchSpanProcessor,
    ParentBasedSampler: base.ParentBasedSampler,
    TraceIdRatioBasedSampler: base.TraceIdRatioBasedSampler,
    TraceState,
    resourceFromAttributes,
    OTLPProtoTraceExporter,
    OTLPJsonTraceExporter,
  };
});
