import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from './load.js';

const base = { deployments: { d: { provider: 'openai', baseUrl: 'http://127.0.0.1:9' } }, models: { m: { targets: [{ deployment: 'd', model: 'x' }] } } };

function tracing(yaml: Record<string, unknown> | undefined, env: NodeJS.ProcessEnv) {
  return resolveConfig({ ...base, ...(yaml ? { tracing: yaml } : {}) }, env).tracing;
}

describe('tracing settings: YAML, then OTEL_* variables, then defaults', () => {
  it('is off by default, on with OTEL_TRACES_EXPORTER=otlp, and the YAML decides when it says', () => {
    expect(tracing(undefined, {}).enabled).toBe(false);
    expect(tracing(undefined, { OTEL_TRACES_EXPORTER: 'otlp' }).enabled).toBe(true);
    expect(tracing(undefined, { OTEL_TRACES_EXPORTER: 'none' }).enabled).toBe(false);
    expect(tracing(undefined, { OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' }).enabled).toBe(false);
    expect(tracing({ enabled: false }, { OTEL_TRACES_EXPORTER: 'otlp' }).enabled).toBe(false);
    expect(tracing({ enabled: true }, { OTEL_SDK_DISABLED: 'true' }).enabled).toBe(true);
  });

  it('defaults', () => {
    expect(tracing({ enabled: true }, {})).toMatchObject({
      endpoint: 'http://localhost:4318/v1/traces',
      protocol: 'http/protobuf',
      samplingRatio: 1,
      parentBased: true,
      serviceName: 'llm-gateway',
      maxQueueSize: 2048,
      maxExportBatchSize: 512,
      scheduledDelayMs: 5000,
      exportTimeoutMs: 10000,
    });
  });

  it('the signal-specific variable wins over the generic one; the YAML over both', () => {
    const env = {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_TIMEOUT: '3000',
      OTEL_EXPORTER_OTLP_HEADERS: 'a=1,b=two%20words',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'b=3',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_SERVICE_NAME: 'svc',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod,team=ml%2Fops',
      OTEL_BSP_MAX_QUEUE_SIZE: '100',
      OTEL_BSP_SCHEDULE_DELAY: '250',
    };
    const t = tracing(undefined, env);
    expect(t).toMatchObject({ enabled: true, endpoint: 'http://collector:4318/v1/traces', protocol: 'http/json', exportTimeoutMs: 3000, samplingRatio: 0.25, parentBased: true, serviceName: 'svc', maxQueueSize: 100, scheduledDelayMs: 250 });
    expect(t.resourceAttributes).toEqual({ 'deployment.environment.name': 'prod', team: 'ml/ops' });
    expect(Object.fromEntries(Object.entries(t.headers).map(([k, v]) => [k, v.reveal()]))).toEqual({ a: '1', b: '3' });
    expect(tracing(undefined, { ...env, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:1/x' }).endpoint).toBe('http://traces:1/x');
    const y = tracing({ endpoint: 'http://yaml:4318/v1/traces', protocol: 'http/protobuf', samplingRatio: 0.5, serviceName: 'y', headers: { b: 'yaml' }, maxQueueSize: 7 }, env);
    expect(y).toMatchObject({ endpoint: 'http://yaml:4318/v1/traces', protocol: 'http/protobuf', samplingRatio: 0.5, serviceName: 'y', maxQueueSize: 7 });
    expect(y.headers.b?.reveal()).toBe('yaml');
  });

  it('non-parent samplers from the environment', () => {
    expect(tracing({ enabled: true }, { OTEL_TRACES_SAMPLER: 'always_off' })).toMatchObject({ samplingRatio: 0, parentBased: false });
    expect(tracing({ enabled: true }, { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' })).toMatchObject({ samplingRatio: 0.1, parentBased: false });
  });

  it('bad variables are errors naming the variable (never a header value) when tracing is on, and ignored when it is off', () => {
    const bad = { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_TRACES_SAMPLER_ARG: '2', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_BSP_MAX_QUEUE_SIZE: 'lots', OTEL_EXPORTER_OTLP_HEADERS: 'no-equals-secret-token' };
    expect(() => tracing(undefined, bad)).not.toThrow();
    let error: unknown;
    try {
      tracing({ enabled: true }, bad);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues.map((i) => i.path);
    expect(issues).toEqual(expect.arrayContaining(['OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_TRACES_SAMPLER_ARG', 'OTEL_BSP_MAX_QUEUE_SIZE', 'OTEL_EXPORTER_OTLP_HEADERS']));
    expect(JSON.stringify((error as ConfigError).issues)).not.toContain('secret-token');
  });

  it('a header value with a line break is refused', () => {
    expect(() => tracing({ enabled: true, headers: { authorization: '${env:T}' } }, { T: 'a\r\nx-evil: 1' })).toThrow(ConfigError);
  });
});
