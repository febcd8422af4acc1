import type { TracingConfig } from './schema.js';
import type { Secret } from './secret.js';

/** The `tracing` block with the `OTEL_*` environment applied and every default filled (docs/tracing.md). */
export interface ResolvedTracing {
  readonly enabled: boolean;
  /** The traces URL, used as is. */
  readonly endpoint: string;
  readonly protocol: 'http/protobuf' | 'http/json';
  /** Header values may hold a token: Secrets, revealed only to the exporter. */
  readonly headers: Readonly<Record<string, Secret>>;
  readonly samplingRatio: number;
  /** Follow a client's sampled flag (the `parentbased_*` samplers; the YAML ratio is always parent-based). */
  readonly parentBased: boolean;
  readonly serviceName: string;
  /** From OTEL_RESOURCE_ATTRIBUTES (service.name is `serviceName`). */
  readonly resourceAttributes: Readonly<Record<string, string>>;
  readonly maxQueueSize: number;
  readonly maxExportBatchSize: number;
  readonly scheduledDelayMs: number;
  readonly exportTimeoutMs: number;
}

export interface TracingIssue {
  readonly path: string;
  readonly message: string;
}

export const tracingDefaults = {
  endpoint: 'http://localhost:4318/v1/traces',
  protocol: 'http/protobuf',
  samplingRatio: 1,
  serviceName: 'llm-gateway',
  maxQueueSize: 2048,
  maxExportBatchSize: 512,
  scheduledDelayMs: 5000,
  exportTimeoutMs: 10_000,
} as const;

/** Entries of OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS read, at most. */
const maxListEntries = 64;

/**
 * Applies the standard OpenTelemetry environment variables. Precedence, highest first: the YAML
 * key; the signal-specific variable (`OTEL_EXPORTER_OTLP_TRACES_*`); the generic one
 * (`OTEL_EXPORTER_OTLP_*`, `OTEL_BSP_*`); the default. Headers merge in that order, by name.
 * Variables are only checked when tracing ends up on: a stray value never stops a gateway
 * that does not trace.
 */
export function resolveTracing(
  config: TracingConfig,
  env: NodeJS.ProcessEnv,
  secret: (value: string, path: string) => Secret | undefined,
  plain: (value: string) => Secret,
  issues: TracingIssue[],
): ResolvedTracing {
  const get = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const exporter = get('OTEL_TRACES_EXPORTER');
  const enabled = config.enabled ?? (get('OTEL_SDK_DISABLED')?.toLowerCase() !== 'true' && exporter?.split(',').map((s) => s.trim()).includes('otlp') === true);
  const number = (name: string, min: number, max: number): number | undefined => {
    const raw = get(name);
    if (raw === undefined || !enabled) return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) {
      issues.push({ path: name, message: `must be a number from ${min} to ${max}` });
      return undefined;
    }
    return n;
  };
  const integer = (name: string, min: number, max: number): number | undefined => {
    const n = number(name, min, max);
    if (n !== undefined && !Number.isInteger(n)) {
      issues.push({ path: name, message: 'must be a whole number' });
      return undefined;
    }
    return n;
  };

  let endpoint = tracingDefaults.endpoint as string;
  if (config.endpoint !== undefined) endpoint = secret(config.endpoint, 'tracing.endpoint')?.reveal() ?? endpoint;
  else if (get('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') !== undefined) endpoint = get('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') as string;
  else if (get('OTEL_EXPORTER_OTLP_ENDPOINT') !== undefined) endpoint = `${(get('OTEL_EXPORTER_OTLP_ENDPOINT') as string).replace(/\/+$/, '')}/v1/traces`;
  // The error names where the endpoint came from: the key or the variable the operator must fix.
  const endpointFrom = config.endpoint !== undefined ? 'tracing.endpoint' : get('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT';
  if (enabled && !/^https?:\/\/[^\s]+$/.test(endpoint)) issues.push({ path: endpointFrom, message: 'must be an http:// or https:// URL' });

  let protocol: ResolvedTracing['protocol'] = config.protocol ?? tracingDefaults.protocol;
  const protocolFrom = get('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const envProtocol = config.protocol === undefined ? get(protocolFrom) : undefined;
  if (envProtocol === 'http/protobuf' || envProtocol === 'http/json') protocol = envProtocol;
  else if (envProtocol !== undefined && enabled) issues.push({ path: protocolFrom, message: `"${envProtocol.slice(0, 64)}" is not supported: use http/protobuf or http/json` });

  const headers: Record<string, Secret> = {};
  if (enabled) {
    for (const name of ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS']) {
      const raw = get(name);
      if (raw === undefined) continue;
      const parsed = keyValueList(raw);
      // The message names the variable, never its values (they are credentials).
      if (parsed === undefined) issues.push({ path: name, message: 'must be a comma-separated list of name=value (percent-encoded)' });
      else for (const [k, v] of parsed) headers[k.toLowerCase()] = plain(v);
    }
  }
  for (const [name, value] of Object.entries(config.headers ?? {})) {
    const s = secret(value, `tracing.headers.${name}`);
    if (s) headers[name.toLowerCase()] = s;
  }
  for (const [name, value] of Object.entries(headers)) {
    // Values as Node's http client accepts them (tab, printable ASCII, latin-1): any other
    // character would fail every export at send time instead of failing the start.
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/.test(name) || /[^\t\x20-\x7e\x80-\xff]/.test(value.reveal())) issues.push({ path: 'tracing.headers', message: `header ${JSON.stringify(name.slice(0, 64))} is not a valid HTTP header` });
  }

  // OTEL_TRACES_SAMPLER: the parent-based ones follow a client's sampled flag; the others ignore it.
  const samplerName = get('OTEL_TRACES_SAMPLER') ?? 'parentbased_always_on';
  let parentBased = true;
  let ratio: number = tracingDefaults.samplingRatio;
  switch (samplerName) {
    case 'always_on':
      parentBased = false;
      break;
    case 'always_off':
      parentBased = false;
      ratio = 0;
      break;
    case 'traceidratio':
      parentBased = false;
      ratio = number('OTEL_TRACES_SAMPLER_ARG', 0, 1) ?? 1;
      break;
    case 'parentbased_always_on':
      break;
    case 'parentbased_always_off':
      ratio = 0;
      break;
    case 'parentbased_traceidratio':
      ratio = number('OTEL_TRACES_SAMPLER_ARG', 0, 1) ?? 1;
      break;
    default:
      if (enabled) issues.push({ path: 'OTEL_TRACES_SAMPLER', message: `"${samplerName.slice(0, 64)}" is not supported: use always_on, always_off, traceidratio or their parentbased_ forms` });
  }
  if (config.samplingRatio !== undefined) {
    ratio = config.samplingRatio;
    parentBased = true;
  }

  const resourceAttributes: Record<string, string> = {};
  const rawResource = enabled ? get('OTEL_RESOURCE_ATTRIBUTES') : undefined;
  if (rawResource !== undefined) {
    const parsed = keyValueList(rawResource);
    if (parsed === undefined) issues.push({ path: 'OTEL_RESOURCE_ATTRIBUTES', message: 'must be a comma-separated list of key=value (percent-encoded)' });
    else for (const [k, v] of parsed) resourceAttributes[k] = v;
  }
  const serviceName = config.serviceName ?? get('OTEL_SERVICE_NAME') ?? resourceAttributes['service.name'] ?? tracingDefaults.serviceName;

  const maxQueueSize = config.maxQueueSize ?? integer('OTEL_BSP_MAX_QUEUE_SIZE', 1, 1_000_000) ?? tracingDefaults.maxQueueSize;
  const maxExportBatchSize = config.maxExportBatchSize ?? integer('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 1, 1_000_000) ?? tracingDefaults.maxExportBatchSize;
  const scheduledDelayMs = config.scheduledDelayMs ?? integer('OTEL_BSP_SCHEDULE_DELAY', 1, 2_147_483_647) ?? tracingDefaults.scheduledDelayMs;
  const exportTimeoutMs =
    config.exportTimeoutMs ??
    integer('OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', 1, 2_147_483_647) ??
    integer('OTEL_EXPORTER_OTLP_TIMEOUT', 1, 2_147_483_647) ??
    integer('OTEL_BSP_EXPORT_TIMEOUT', 1, 2_147_483_647) ??
    tracingDefaults.exportTimeoutMs;

  return { enabled, endpoint, protocol, headers, samplingRatio: ratio, parentBased, serviceName, resourceAttributes, maxQueueSize, maxExportBatchSize, scheduledDelayMs, exportTimeoutMs };
}

/** `k1=v1,k2=v2` with percent-encoded values (the W3C Baggage-like format the OTel spec uses); undefined when malformed. */
function keyValueList(raw: string): Array<[string, string]> | undefined {
  const out: Array<[string, string]> = [];
  for (const part of raw.split(',')) {
    if (part.trim() === '') continue;
    const at = part.indexOf('=');
    if (at <= 0) return undefined;
    const key = part.slice(0, at).trim();
    let value: string;
    try {
      value = decodeURIComponent(part.slice(at + 1).trim());
    } catch {
      return undefined;
    }
    if (key === '') return undefined;
    out.push([key, value]);
    if (out.length > maxListEntries) return undefined;
  }
  return out;
}
