import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { InFlightRequests } from './drain.js';

const response = (): ServerResponse => Object.assign(new EventEmitter(), { headersSent: false, setHeader: () => undefined }) as unknown as ServerResponse;

describe('InFlightRequests', () => {
  it('counts API operations (requests given a controller) apart from other requests, until each closes', () => {
    const inFlight = new InFlightRequests();
    const [chat, listing, other] = [response(), response(), response()];
    for (const r of [chat, listing, other]) inFlight.track(r);
    inFlight.attach(chat, new AbortController());
    inFlight.attach(chat, new AbortController());
    inFlight.attach(other, new AbortController());
    expect([inFlight.size, inFlight.operations]).toEqual([3, 2]);
    chat.emit('close');
    listing.emit('close');
    expect([inFlight.size, inFlight.operations]).toEqual([1, 1]);
    other.emit('close');
    expect([inFlight.size, inFlight.operations]).toEqual([0, 0]);
    // A response never tracked is not counted.
    inFlight.attach(response(), new AbortController());
    expect(inFlight.operations).toBe(0);
  });
});
