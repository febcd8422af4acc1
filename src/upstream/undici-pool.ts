import { createRequire } from 'node:module';
import type * as Undici from 'undici';

/**
 * undici's Pool and its request API, loaded without undici's index. The index also loads fetch,
 * WebSocket, EventSource, the caches, the mocks and every interceptor, which the gateway never
 * uses: 3 MB of heap and 6 MB of RSS at start (bench/micro/import-memory.mjs `undici` against
 * `./dist/upstream/undici-pool.js`). These are the very modules the index loads (CommonJS is
 * cached by file), so a Pool made here is the Pool a test imports from 'undici'.
 *
 * The one thing the index does that a pool needs is to give every dispatcher the request API
 * (`pool.request`, `pool.stream`…): `Object.assign(Dispatcher.prototype, api)`, done here the
 * same way unless the index has run already. The paths are undici's own files; the version is
 * pinned in package.json and undici-pool.test.ts fails if an upgrade moves them.
 */
const require = createRequire(import.meta.url);
const Dispatcher = require('undici/lib/dispatcher/dispatcher') as typeof Undici.Dispatcher;
if (typeof Dispatcher.prototype.request !== 'function') Object.assign(Dispatcher.prototype, require('undici/lib/api') as object);

export const Pool = require('undici/lib/dispatcher/pool') as typeof Undici.Pool;
export type Pool = Undici.Pool;
