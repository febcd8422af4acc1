import { afterAll, beforeAll, expect, it } from 'vitest';
import { admin, startAdminHarness } from './helpers/admin.js';
import type { Harness } from './helpers/harness.js';

/** A NUL (or any control character) in an admin path or query is a 400, never a 500 from the database. */
let h: Harness;
beforeAll(async () => {
  h = await startAdminHarness(['m']);
}, 60_000);
afterAll(() => h?.close());

it.each(['/keys?team=%00', '/keys?after=a%00b', '/teams/a%00b', '/keys/key_%00', '/users/%01', '/teams/x%00/members', '/users?after=%7F', '/audit?actor=%00'])('GET %s is a 400', async (path) => {
  const r = await admin(h.url, 'GET', path);
  expect(r.status, r.text).toBe(400);
  expect(r.body.error.code).toBe('invalid_request');
});
