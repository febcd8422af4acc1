import { afterEach } from 'vitest';
import { FakeUpstream, type FakeUpstreamOptions } from './fake-upstream.js';
import type { FakeDialectName } from './script.js';

/**
 * For a dialect's unit tests: a `start` that runs a fake of that dialect on a free port, each
 * closed after its test so no test leaks a listening socket into the next. Call once at module
 * level (it registers an afterEach hook).
 */
export function fakeStarter(dialect: FakeDialectName): (options?: Partial<FakeUpstreamOptions>) => Promise<FakeUpstream> {
  const fakes: FakeUpstream[] = [];
  afterEach(async () => {
    await Promise.all(fakes.splice(0).map((fake) => fake.close()));
  });
  return async (options = {}) => {
    const fake = await FakeUpstream.start({ dialect, ...options });
    fakes.push(fake);
    return fake;
  };
}
