import { errors as undiciErrors } from 'undici';
import { describe, expect, it } from 'vitest';
import type { UpstreamErrorInfo } from '../providers/types.js';
import { UpstreamProtocolError } from '../providers/types.js';
import { errorTypeForStatus } from '../providers/chunks.js';
import { ClientGoneError, DeadlineExceededError } from './abort-reasons.js';
import { classifyStatus, classifyThrown } from './classify.js';

const deployment = 'openai-east';

function info(status: number, extra: Partial<UpstreamErrorInfo> = {}): UpstreamErrorInfo {
  return { message: `upstream said ${status}`, type: errorTypeForStatus(status), code: null, param: null, ...extra };
}

describe('classifyStatus', () => {
  it.each([
    { status: 429, outcome: 'rate_limited', retryable: true, breaker: false, code: 'upstream_rate_limited', clientStatus: 429 },
    { status: 408, outcome: 'timeout', retryable: true, breaker: true, code: 'upstream_timeout', clientStatus: 504 },
    { status: 500, outcome: 'server_error', retryable: true, breaker: true, code: 'upstream_error', clientStatus: 502 },
    { status: 502, outcome: 'server_error', retryable: true, breaker: true, code: 'upstream_error', clientStatus: 502 },
    { status: 503, outcome: 'server_error', retryable: true, breaker: true, code: 'upstream_error', clientStatus: 502 },
    { status: 504, outcome: 'timeout', retryable: true, breaker: true, code: 'upstream_timeout', clientStatus: 504 },
    { status: 529, outcome: 'server_error', retryable: true, breaker: true, code: 'upstream_overloaded', clientStatus: 503 },
    { status: 400, outcome: 'client_error', retryable: false, breaker: false, code: 'upstream_client_error', clientStatus: 400 },
    { status: 401, outcome: 'client_error', retryable: false, breaker: false, code: 'upstream_error', clientStatus: 502 },
    { status: 403, outcome: 'client_error', retryable: false, breaker: false, code: 'upstream_error', clientStatus: 502 },
    { status: 404, outcome: 'client_error', retryable: false, breaker: false, code: 'upstream_client_error', clientStatus: 404 },
    { status: 422, outcome: 'client_error', retryable: false, breaker: false, code: 'upstream_client_error', clientStatus: 422 },
    { status: 409, outcome: 'client_error', retryable: false, breaker: false, code: 'upstream_client_error', clientStatus: 409 },
  ])('$status → $outcome, retryable=$retryable, breaker=$breaker, $code $clientStatus', ({ status, outcome, retryable, breaker, code, clientStatus }) => {
    const f = classifyStatus(status, info(status), undefined, deployment);
    expect(f.outcome).toBe(outcome);
    expect(f.retryable).toBe(retryable);
    expect(f.countsForBreaker).toBe(breaker);
    expect(f.error.code).toBe(code);
    expect(f.error.status).toBe(clientStatus);
  });

  it.each([500, 502, 503, 504, 529, 408])('%d names the deployment and carries the upstream message', (status) => {
    const f = classifyStatus(status, info(status), undefined, deployment);
    expect(f.error.message).toContain(deployment);
    expect(f.error.message).toContain(`upstream said ${status}`);
  });

  it.each([401, 403])('%d: the provider refused our credentials, so the client never sees a 401/403', (status) => {
    const f = classifyStatus(status, info(status, { message: 'Incorrect API key provided: sk-…' }), undefined, deployment);
    expect(f.error.status).toBe(502);
    expect(f.error.type).toBe('server_error');
    expect(f.error.message).toContain(deployment);
    expect(f.error.message).not.toContain('Incorrect API key');
  });

  it('429 keeps the provider Retry-After as retryAfterMs on the failure and the error', () => {
    const f = classifyStatus(429, info(429), 2500, deployment);
    expect(f.retryAfterMs).toBe(2500);
    expect(f.error.retryAfterMs).toBe(2500);
    expect(f.error.type).toBe('rate_limit_error');
  });

  it("529 (Anthropic's overloaded) → 503 upstream_overloaded keeping the provider's Retry-After", () => {
    const f = classifyStatus(529, info(529), 3000, deployment);
    expect(f.retryAfterMs).toBe(3000);
    expect(f.error.retryAfterMs).toBe(3000);
    expect(f.error.status).toBe(503);
    expect(f.error.type).toBe('server_error');
    expect(classifyStatus(529, info(529), undefined, deployment).error.retryAfterMs).toBeUndefined();
  });

  it('429 without Retry-After has none', () => {
    const f = classifyStatus(429, info(429), undefined, deployment);
    expect(f.retryAfterMs).toBeUndefined();
    expect(f.error.retryAfterMs).toBeUndefined();
  });

  it('503 keeps Retry-After for the retry loop', () => {
    expect(classifyStatus(503, info(503), 1000, deployment).retryAfterMs).toBe(1000);
  });

  it.each([400, 404, 422])('%d is reshaped with the upstream type, param and code', (status) => {
    const f = classifyStatus(status, info(status, { message: 'too long', param: 'messages', code: 'context_length_exceeded' }), undefined, deployment);
    expect(f.error.toBody()).toEqual({
      error: { message: 'too long', type: errorTypeForStatus(status), param: 'messages', code: 'context_length_exceeded' },
    });
    expect(f.retryAfterMs).toBeUndefined();
  });

  it('an upstream code that is not a plain identifier is replaced by ours', () => {
    const f = classifyStatus(400, info(400, { code: 'bad code <script>' }), undefined, deployment);
    expect(f.error.toBody().error.code).toBe('upstream_client_error');
  });

  it('a non-error status outside 4xx/5xx becomes a 502', () => {
    expect(classifyStatus(302, info(302), undefined, deployment).error.status).toBe(502);
  });
});

describe('classifyThrown', () => {
  const live = new AbortController().signal;
  const withCode = (code: string): Error => Object.assign(new Error(`boom ${code}`), { code });

  it.each([
    { name: 'UND_ERR_HEADERS_TIMEOUT', err: withCode('UND_ERR_HEADERS_TIMEOUT'), outcome: 'timeout', code: 'upstream_timeout', status: 504 },
    { name: 'undici HeadersTimeoutError', err: new undiciErrors.HeadersTimeoutError(), outcome: 'timeout', code: 'upstream_timeout', status: 504 },
    { name: 'UND_ERR_BODY_TIMEOUT', err: { code: 'UND_ERR_BODY_TIMEOUT' }, outcome: 'timeout', code: 'upstream_timeout', status: 504 },
    { name: 'undici BodyTimeoutError', err: new undiciErrors.BodyTimeoutError(), outcome: 'timeout', code: 'upstream_timeout', status: 504 },
    { name: 'undici ConnectTimeoutError', err: new undiciErrors.ConnectTimeoutError(), outcome: 'connect_error', code: 'upstream_error', status: 502 },
    { name: 'ECONNREFUSED', err: withCode('ECONNREFUSED'), outcome: 'connect_error', code: 'upstream_error', status: 502 },
    { name: 'ECONNREFUSED as a cause', err: Object.assign(new TypeError('fetch failed'), { cause: withCode('ECONNREFUSED') }), outcome: 'connect_error', code: 'upstream_error', status: 502 },
    { name: 'ENOTFOUND', err: withCode('ENOTFOUND'), outcome: 'connect_error', code: 'upstream_error', status: 502 },
    { name: 'UND_ERR_SOCKET', err: { code: 'UND_ERR_SOCKET' }, outcome: 'reset', code: 'upstream_error', status: 502 },
    { name: 'undici SocketError', err: new undiciErrors.SocketError('other side closed'), outcome: 'reset', code: 'upstream_error', status: 502 },
    { name: 'ECONNRESET', err: withCode('ECONNRESET'), outcome: 'reset', code: 'upstream_error', status: 502 },
    { name: 'UpstreamProtocolError', err: new UpstreamProtocolError('upstream stream ended before [DONE]'), outcome: 'protocol_error', code: 'upstream_error', status: 502 },
    { name: 'an unknown Error', err: new Error('weird'), outcome: 'protocol_error', code: 'upstream_error', status: 502 },
    { name: 'a thrown string', err: 'weird', outcome: 'protocol_error', code: 'upstream_error', status: 502 },
    { name: 'undefined', err: undefined, outcome: 'protocol_error', code: 'upstream_error', status: 502 },
  ])('$name → $outcome (retryable, counts for the breaker), $code $status', ({ err, outcome, code, status }) => {
    const f = classifyThrown(err, live, deployment);
    expect(f.outcome).toBe(outcome);
    expect(f.retryable).toBe(true);
    expect(f.countsForBreaker).toBe(true);
    expect(f.retryAfterMs).toBeUndefined();
    expect(f.error.code).toBe(code);
    expect(f.error.status).toBe(status);
    expect(f.error.message).toContain(deployment);
  });

  it.each([
    { name: 'ClientGoneError', reason: new ClientGoneError(), outcome: 'aborted' },
    { name: 'a plain abort', reason: undefined, outcome: 'aborted' },
    { name: 'DeadlineExceededError', reason: new DeadlineExceededError(30_000), outcome: 'timeout' },
  ])('an aborted signal ($name) wins over the error, is not retried and says nothing about health', ({ reason, outcome }) => {
    const controller = new AbortController();
    controller.abort(reason);
    for (const err of [withCode('ECONNRESET'), new undiciErrors.RequestAbortedError(), controller.signal.reason, new UpstreamProtocolError('x')]) {
      const f = classifyThrown(err, controller.signal, deployment);
      expect(f.outcome).toBe(outcome);
      expect(f.retryable).toBe(false);
      expect(f.countsForBreaker).toBe(false);
    }
  });

  it('a deadline abort becomes upstream_timeout 504 naming the deadline', () => {
    const controller = new AbortController();
    controller.abort(new DeadlineExceededError(30_000));
    const f = classifyThrown(controller.signal.reason, controller.signal, deployment);
    expect(f.error.code).toBe('upstream_timeout');
    expect(f.error.status).toBe(504);
    expect(f.error.message).toContain('30000');
  });

  it('a client-gone abort is not reported as an upstream failure', () => {
    const controller = new AbortController();
    controller.abort(new ClientGoneError());
    const f = classifyThrown(controller.signal.reason, controller.signal, deployment);
    expect(f.error.code).not.toMatch(/^upstream_/);
  });
});
