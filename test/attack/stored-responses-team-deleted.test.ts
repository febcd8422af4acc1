/**
 * Attack on stored responses (issue 16): they are filed under the team's name, so a team deleted
 * and created again under the same name (by an admin who did not know) found the old team's
 * responses, readable and continuable for the rest of their retention. Deleting a team now
 * deletes its stored responses in the same transaction.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { admin, startAdminHarness } from '../helpers/admin.js';
import { chat, get, type Harness } from '../helpers/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function keyFor(url: string, team: string): Promise<string> {
  const key = await admin(url, 'POST', '/keys', { team, name: 'k' });
  expect(key.status, key.text).toBe(201);
  return key.body.key as string;
}

describe('attack: a deleted team name reused', () => {
  it("the new team of the same name finds none of the old team's stored responses", async () => {
    // The request log is not flushed during the test: once the old team's spend is written, the
    // name keeps its history and cannot be taken again at all (admin/teams.ts), a different
    // defence; a flush landing mid-test on a busy machine made this a 409.
    h = await startAdminHarness(['m'], { requestLog: { flushMs: 60_000 } });
    expect((await admin(h.url, 'POST', '/teams', { name: 'reused' })).status).toBe(201);
    const oldKey = await keyFor(h.url, 'reused');
    const created = await chat(h.url, { model: 'm', input: 'A secret of the old team.' }, { key: oldKey, path: '/v1/responses' });
    expect(created.status, created.text).toBe(200);
    const id = created.json().id as string;
    expect((await get(h.url, `/v1/responses/${id}`, oldKey)).status).toBe(200);

    expect((await admin(h.url, 'DELETE', '/teams/reused')).status).toBe(200);
    expect((await admin(h.url, 'POST', '/teams', { name: 'reused' })).status).toBe(201);
    const newKey = await keyFor(h.url, 'reused');
    expect((await get(h.url, `/v1/responses/${id}`, newKey)).status).toBe(404);
    expect((await get(h.url, `/v1/responses/${id}/input_items`, newKey)).status).toBe(404);
    const next = await chat(h.url, { model: 'm', input: 'Go on.', previous_response_id: id }, { key: newKey, path: '/v1/responses' });
    expect(next.status).toBe(400);
    expect(next.json().error.code).toBe('previous_response_not_found');
  });
});
