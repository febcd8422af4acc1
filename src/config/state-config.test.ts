import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from './load.js';

const base = { deployments: {}, models: {} };

function issues(input: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    resolveConfig(input, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('state config', () => {
  it('defaults to memory, fail-open, one replica, no Redis', () => {
    const c = resolveConfig(base, {});
    expect(c.state).toEqual({ backend: 'memory', redis: undefined, failureMode: 'open', expectedReplicas: 1, leaseMs: 30_000 });
  });

  it('fills every Redis default and keeps the URL as a secret, also from the environment', () => {
    const c = resolveConfig({ ...base, state: { backend: 'redis', redis: { url: '${env:REDIS_URL}' } } }, { REDIS_URL: 'redis://:hunter2@redis:6379/0' });
    const redis = c.state.redis;
    expect(redis?.url.reveal()).toBe('redis://:hunter2@redis:6379/0');
    expect(JSON.stringify(c)).not.toContain('hunter2');
    expect({ ...redis, url: undefined }).toEqual({
      url: undefined,
      mode: 'standalone',
      keyPrefix: 'llmgw:',
      stallMs: 300,
      connectTimeoutMs: 1_000,
      maxReconnectDelayMs: 2_000,
      breaker: { failureThreshold: 3, openMs: 1_000, maxOpenMs: 10_000 },
    });
  });

  it('still loads a config with the deprecated (ignored) commandTimeoutMs', () => {
    const c = resolveConfig({ ...base, state: { backend: 'redis', redis: { url: 'redis://r:6379', commandTimeoutMs: 50 } } }, {});
    expect(c.state.redis?.stallMs).toBe(300);
    expect(issues({ ...base, state: { backend: 'redis', redis: { url: 'redis://r:6379', stallMs: 10 } } })[0]).toMatch(/^state\.redis\.stallMs:/);
  });

  it('reports a missing url, a bad url, an unset variable and a bad failure mode with their paths', () => {
    expect(issues({ ...base, state: { backend: 'redis' } })).toEqual(['state.redis: backend redis needs state.redis.url']);
    expect(issues({ ...base, state: { backend: 'redis', redis: { url: 'http://redis' } } })[0]).toMatch(/^state\.redis\.url: must be a redis:\/\//);
    expect(issues({ ...base, state: { backend: 'redis', redis: { url: '${env:NOPE}' } } })).toEqual(['state.redis.url: environment variable NOPE is not set']);
    expect(issues({ ...base, state: { backend: 'redis', redis: { url: '${env:U}' } } }, { U: 'localhost:6379' })).toEqual(['state.redis.url: must resolve to a redis:// or rediss:// URL']);
    const tenant = { keys: ['k-123'], limits: { requests: { capacity: 1, refillPerSecond: 1, failureMode: 'maybe' } } };
    expect(issues({ ...base, tenants: { t: tenant } })[0]).toMatch(/^tenants\.t\.limits\.requests\.failureMode:/);
  });

  it('accepts per-limit failure modes and a tenant concurrency limit', () => {
    const c = resolveConfig({ ...base, tenants: { t: { keys: ['k-123'], concurrency: { maxInFlight: 4, failureMode: 'closed' }, limits: { tokens: { capacity: 10, refillPerSecond: 1, failureMode: 'open' } } } } }, {});
    expect(c.tenants.t?.concurrency).toEqual({ maxInFlight: 4, failureMode: 'closed' });
    expect(c.tenants.t?.limits?.tokens?.failureMode).toBe('open');
  });
});
