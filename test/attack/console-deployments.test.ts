/**
 * Attack on the deployments view, over real sockets: no credential of any provider (a bearer
 * key, a Gemini key, AWS keys, a password in the base URL's user info) and no upstream error
 * text (which may quote them) ever shows, even for deployments that fail; a reload that renames
 * a deployment shows the new name only, with a fresh past.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_AWS_ACCESS_KEY_ID } from '../../src/testing/fake-upstream/bedrock-dialect.js';
import { ADMIN_KEY, admin } from '../helpers/admin.js';
import { chat, chatBody, harnessConfig, startHarness, type Harness } from '../helpers/harness.js';
import type { FakeUpstream } from '../../src/testing/fake-upstream/fake-upstream.js';

const OPENAI_KEY = 'sk-openai-secret-0123456789abcdef';
const GEMINI_KEY = 'AIzaGeminiSecret0123456789abcdefghij';
const AWS_SECRET = 'aws-secret-0123456789abcdef0123456789';
const PASSWORD = 'urlpassword0123456789';
const ERROR_TEXT = 'upstream-error-text-quoting-a-secret';
const secrets = [OPENAI_KEY, GEMINI_KEY, AWS_SECRET, FAKE_AWS_ACCESS_KEY_ID, PASSWORD, 'userinfo', ERROR_TEXT, '?key', 'key=', '/v1'];

let h: Harness;
const env = { GATEWAY_ADMIN_KEY: ADMIN_KEY, OPENAI_KEY, GEMINI_KEY, AWS_ACCESS_KEY_ID: FAKE_AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: AWS_SECRET };

function config(f: readonly FakeUpstream[], openaiName = 'oa'): Record<string, unknown> {
  const withUser = new URL(f[0]!.baseUrl);
  withUser.username = 'userinfo';
  withUser.password = PASSWORD;
  return {
    deployments: {
      [openaiName]: { provider: 'openai', baseUrl: withUser.toString(), apiKey: '${env:OPENAI_KEY}' },
      gem: { provider: 'gemini', baseUrl: f[1]!.baseUrl, apiKey: '${env:GEMINI_KEY}' },
      br: { provider: 'bedrock', baseUrl: f[2]!.baseUrl, aws: { region: 'us-east-1', accessKeyId: '${env:AWS_ACCESS_KEY_ID}', secretAccessKey: '${env:AWS_SECRET_ACCESS_KEY}' } },
    },
    models: {
      oa: { targets: [{ deployment: openaiName, model: 'm' }] },
      gem: { targets: [{ deployment: 'gem', model: 'gemini-2.0-flash' }] },
      br: { targets: [{ deployment: 'br', model: 'us.anthropic.claude-3-5-haiku-20241022-v1:0' }] },
    },
    admin: { bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' },
    state: { database: { dataDir: ':memory:' } },
  };
}

beforeAll(async () => {
  h = await startHarness({
    fakes: [
      { dialect: 'openai', apiKey: OPENAI_KEY },
      { dialect: 'gemini', apiKey: GEMINI_KEY },
      { dialect: 'bedrock', apiKey: AWS_SECRET },
    ],
    env,
    config: (f) => config(f),
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('GET /admin/v1/deployments', () => {
  it('shows no credential and no upstream error text, for healthy and failing deployments', async () => {
    for (const model of ['oa', 'gem', 'br']) expect((await chat(h.url, chatBody(model))).status, model).toBe(200);
    for (const fake of h.fakes) {
      fake.enqueue(
        { kind: 'status', status: 500, body: { error: { message: `${ERROR_TEXT} ${OPENAI_KEY} ${GEMINI_KEY} ${AWS_SECRET}` } } },
        { kind: 'status', status: 400, body: `${ERROR_TEXT} ${PASSWORD}` },
        { kind: 'status', status: 500, body: { error: { message: ERROR_TEXT } } },
        { kind: 'status', status: 500, body: { error: { message: ERROR_TEXT } } },
      );
    }
    for (const model of ['oa', 'gem', 'br']) for (let i = 0; i < 3; i++) await chat(h.url, chatBody(model));
    const res = await admin(h.url, 'GET', '/deployments');
    expect(res.status).toBe(200);
    const byName: Record<string, any> = Object.fromEntries((res.body.data as any[]).map((d) => [d.name, d]));
    expect(Object.keys(byName).sort()).toEqual(['br', 'gem', 'oa']);
    for (const d of Object.values(byName)) {
      expect(d.server).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(d.recentFailures.length).toBeGreaterThan(0);
    }
    for (const secret of secrets) expect(res.text, secret).not.toContain(secret);
  }, 60_000);

  it('after a reload that renames a deployment, shows the new name only, with no past', async () => {
    const result = h.gateway.reload(harnessConfig(config(h.fakes, 'oa-renamed'), env));
    expect(result.ok).toBe(true);
    const res = await admin(h.url, 'GET', '/deployments');
    const byName: Record<string, any> = Object.fromEntries((res.body.data as any[]).map((d) => [d.name, d]));
    expect(Object.keys(byName).sort()).toEqual(['br', 'gem', 'oa-renamed']);
    expect(byName['oa-renamed']).toMatchObject({ models: ['oa'], recentFailures: [], breaker: { transitions: [] }, latencyMs: null });
    for (const secret of secrets) expect(res.text, secret).not.toContain(secret);
  });
});
