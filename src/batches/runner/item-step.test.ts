import { describe, expect, it } from 'vitest';
import { backoffMs, MAX_BACKOFF_MS } from './item-step.js';
import { retryableAnswer } from './run-item.js';

describe('which failed answers a later run may fix', () => {
  it.each([
    [408, 'request_timeout', true],
    [429, 'rate_limit_exceeded', true],
    [429, 'concurrency_limit_exceeded', true],
    [429, 'upstream_rate_limited', true],
    [429, 'budget_exceeded', false],
    [500, 'internal_error', true],
    [502, 'upstream_error', true],
    [503, 'budget_unavailable', true],
    [503, 'no_available_deployment', true],
    [504, 'upstream_timeout', true],
    [400, 'invalid_request', false],
    [401, 'invalid_api_key', false],
    [401, 'api_key_expired', false],
    [403, 'model_not_allowed', false],
    [404, 'model_not_found', false],
    [413, 'request_too_large', false],
  ] as const)('%i %s → %s', (status, code, retryable) => {
    expect(retryableAnswer(status, code)).toBe(retryable);
  });
});

describe('backoff between runs', () => {
  it('doubles per run, the upper half jittered, capped at 5 minutes', () => {
    expect([1, 2, 3].map((a) => backoffMs(1_000, a, () => 0))).toEqual([500, 1_000, 2_000]);
    expect([1, 2, 3].map((a) => backoffMs(1_000, a, () => 1))).toEqual([1_000, 2_000, 4_000]);
    expect(backoffMs(300_000, 20, () => 1)).toBe(MAX_BACKOFF_MS);
    expect(backoffMs(2_000, 1_000, () => 0.5)).toBeLessThanOrEqual(MAX_BACKOFF_MS);
  });
});
