import { describe, expect, it } from 'vitest';
import type { ResponseObject } from '../api/responses-types.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { ChatReply, StreamWriter } from '../pipeline/reply.js';
import { StoringReply } from './storing-reply.js';

/** A reply that logs what happened, in order, next to the saves. */
function recorder(log: string[]): ChatReply {
  const writer: StreamWriter = {
    write: async (chunks) => void log.push(`write ${chunks.map((c) => (c as { type: string }).type).join(',')}`),
    fail: () => void log.push('fail'),
    done: () => void log.push('done'),
  };
  return {
    json: (status) => void log.push(`json ${status}`),
    error: (err) => void log.push(`error ${err.code}`),
    openStream: () => (log.push('open'), writer),
  };
}

const response: ResponseObject = { id: 'resp_1', object: 'response', created_at: 1, status: 'completed', model: 'm', output: [] };

describe('StoringReply', () => {
  it('JSON: saved before it is sent; a failed save sends it anyway, marked', async () => {
    const log: string[] = [];
    let ok = true;
    const reply = new StoringReply(recorder(log), async (r) => (log.push(`save ${r.id}`), ok));
    await reply.json(200, response, {});
    ok = false;
    const headers: Record<string, string>[] = [];
    const marking = new StoringReply({ ...recorder(log), json: (_s, _b, h) => void headers.push({ ...h }) }, async () => ok);
    await marking.json(200, response, {});
    expect(log).toEqual(['save resp_1', 'json 200']);
    expect(headers).toEqual([{ 'x-gateway-response-stored': 'false' }]);
  });

  it('stream: saved before the event that ends it is written (events before it go first), once', async () => {
    const log: string[] = [];
    const reply = new StoringReply(recorder(log), async (r) => (log.push(`save ${r.id}`), true));
    const w = reply.openStream({});
    await w.write([{ type: 'response.output_text.delta' }]);
    await w.write([{ type: 'response.output_text.done' }, { type: 'response.completed', response }]);
    await w.write([{ type: 'response.completed', response }]);
    w.done();
    expect(log).toEqual(['open', 'write response.output_text.delta', 'write response.output_text.done', 'save resp_1', 'write response.completed', 'write response.completed', 'done']);
  });

  it('errors and streams that fail are passed through, nothing saved', async () => {
    const log: string[] = [];
    const reply = new StoringReply(recorder(log), async () => (log.push('save'), true));
    reply.error(new GatewayError('invalid_request', 'no'), {});
    await reply.json(400, { error: {} }, {});
    const w = reply.openStream({});
    await w.write([{ type: 'response.failed', response: { ...response, status: 'failed' } }]);
    w.fail(new GatewayError('upstream_error', 'cut'));
    expect(log).toEqual(['error invalid_request', 'json 400', 'open', 'write response.failed', 'fail']);
  });
});
