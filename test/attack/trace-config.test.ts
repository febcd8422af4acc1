/**
 * Attack: bad tracing settings are config errors that name the variable that holds them (the
 * one the operator must fix), never a crash at the first export.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from '../../src/config/load.js';

const base = { deployments: { d: { provider: 'openai', baseUrl: 'http://127.0.0.1:9' } }, models: { m: { targets: [{ deployment: 'd', model: 'x' }] } } };

function configError(yaml: Record<string, unknown> | undefined, env: NodeJS.ProcessEnv): string {
  try {
    resolveConfig({ ...base, ...(yaml ? { tracing: yaml } : {}) }, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a config error');
}

const on = { OTEL_TRACES_EXPORTER: 'otlp' };

describe('tracing config errors name the variable at fault', () => {
  it('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc names that variable, not the generic one', () => {
    const msg = configError(undefined, { ...on, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' });
    expect(msg).toContain('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL');
  });

  it('a bad OTEL_EXPORTER_OTLP_TRACES_ENDPOINT names that variable', () => {
    const msg = configError(undefined, { ...on, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'collector:4318' });
    expect(msg).toContain('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  });

  it('a collector header value Node cannot send (a control character, a character past latin-1) is a config error, not a failed export', () => {
    for (const value of ['Bearer%01x', 'Bearer%20%E2%82%AC', 'a%09b%7Fc']) {
      const msg = configError(undefined, { ...on, OTEL_EXPORTER_OTLP_HEADERS: `authorization=${value}` });
      expect(msg).toContain('tracing.headers');
    }
    expect(configError({ enabled: true, headers: { authorization: 'Bearer \u0001' } }, {})).toContain('tracing.headers');
  });

  it('YAML: ratio 2, a negative queue, protocol grpc are errors naming the key', () => {
    expect(configError({ enabled: true, samplingRatio: 2 }, {})).toContain('samplingRatio');
    expect(configError({ enabled: true, maxQueueSize: -1 }, {})).toContain('maxQueueSize');
    expect(configError({ enabled: true, protocol: 'grpc' }, {})).toContain('protocol');
  });

  it('bad OTEL_* numbers name the variable and never echo a header value', () => {
    expect(configError(undefined, { ...on, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' })).toContain('OTEL_TRACES_SAMPLER_ARG');
    expect(configError(undefined, { ...on, OTEL_BSP_MAX_QUEUE_SIZE: '-5' })).toContain('OTEL_BSP_MAX_QUEUE_SIZE');
    const msg = configError(undefined, { ...on, OTEL_EXPORTER_OTLP_HEADERS: 'authorization=very-secret-token,broken' });
    expect(msg).toContain('OTEL_EXPORTER_OTLP_HEADERS');
    expect(msg).not.toContain('very-secret-token');
  });
});
