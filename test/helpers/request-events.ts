import type { RequestFinishedEvent } from '../../src/observability/events.js';

/** A finished chat request as the flow reports it (served, priced), with `over` changed. */
export function finished(id: string, over: Partial<RequestFinishedEvent> = {}): RequestFinishedEvent {
  return {
    requestId: id,
    route: '/v1/chat/completions',
    operation: 'chat',
    tenant: 'team-a',
    model: 'gpt',
    servedModel: 'gpt',
    deployment: 'dep-1',
    attempts: 1,
    status: 200,
    outcome: 'success',
    errorCode: undefined,
    stream: false,
    durationMs: 120.4,
    timeToFirstTokenMs: undefined,
    upstreamMs: 100,
    usage: { promptTokens: 10, completionTokens: 5, cachedTokens: 2, reasoningTokens: 1, estimated: false },
    upstream: undefined,
    costPico: 1_500_000,
    keyId: 'key_0000000000000001',
    user: undefined,
    ...over,
  };
}
