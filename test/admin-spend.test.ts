/**
 * Issue 12: spend and the request log through the admin API, end to end (real requests through
 * the gateway, the writer, the store), on the embedded database and on a PostgreSQL server. Sums
 * are exact (the spend equals the sum of the per-request costs), a team admin sees only their
 * team, pages neither repeat nor skip, and bad input is a 400 naming the parameter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatUsd, usdToPico } from '../src/spend/money.js';
import { ADMIN_KEY, admin, startAdminHarness } from './helpers/admin.js';
import { chat, chatBody, type Harness } from './helpers/harness.js';
import { createTestDatabase, sharedPostgresAvailable } from './helpers/postgres.js';

const pgAvailable = await sharedPostgresAvailable();

interface RequestJson {
  id: string;
  team: string | null;
  keyId: string | null;
  status: number;
  cost_usd: string | null;
  detail?: { attempts?: Array<{ deployment: string; outcome: string }> };
}

describe.each([
  ['embedded (PGlite)', false],
  ['postgres server', true],
] as const)('admin API spend and requests: %s', (_label, server) => {
  let h: Harness;
  let drop: (() => Promise<void>) | undefined;
  const skip = server && !pgAvailable;
  const keys: Record<string, { id: string; key: string }> = {};
  let teamAdmin: string;
  const ids: Record<string, string[]> = { alpha: [], beta: [], none: [] };

  beforeAll(async () => {
    if (skip) return;
    const url = server ? await createTestDatabase('admin_spend').then((d) => ((drop = d.drop), d.url)) : undefined;
    h = await startAdminHarness(['gpt-mini'], {
      models: { 'gpt-mini': { targets: [{ deployment: 'd', model: 'm', price: { input: '0.15', output: '0.6' } }] } },
      requestLog: { flushMs: 100 },
      ...(url ? { state: { database: { url } } } : {}),
    });
    for (const team of ['alpha', 'beta']) {
      // alpha stores its prompts and completions (redacted); beta does not.
      const payloads = team === 'alpha' ? { payloads: { store: true, maxBytes: 4_096, redact: ['sk-live-[a-z0-9]+'] } } : {};
      expect((await admin(h.url, 'POST', '/teams', { name: team, models: ['gpt-mini'], ...payloads })).status).toBe(201);
      keys[team] = (await admin(h.url, 'POST', '/keys', { team })).body;
    }
    teamAdmin = (await admin(h.url, 'POST', '/keys', { team: 'alpha', role: 'team_admin' })).body.key;
    const call = async (team: 'alpha' | 'beta' | 'none'): Promise<void> => {
      const body = chatBody('gpt-mini', { messages: [{ role: 'user', content: 'my key is sk-live-abc123, keep it' }] });
      const res = await chat(h.url, body, { key: team === 'none' ? 'sk-gw-not-a-key-of-anyone-at-all-000000000000' : keys[team]!.key });
      ids[team]!.push(res.headers['x-gateway-request-id'] as string);
    };
    for (let i = 0; i < 7; i++) await call('alpha');
    for (let i = 0; i < 3; i++) await call('beta');
    for (let i = 0; i < 2; i++) await call('none');
    // Written in batches (flushMs 100): wait for all twelve.
    const until = Date.now() + 10_000;
    while ((await admin(h.url, 'GET', '/requests?limit=1000')).body.data.length < 12) {
      if (Date.now() > until) throw new Error('the request log did not fill');
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await drop?.();
  });

  const all = async (query: string, key?: string): Promise<RequestJson[]> => {
    const out: RequestJson[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 100; page++) {
      const res = await admin(h.url, 'GET', `/requests?${query}${cursor === null ? '' : `&cursor=${cursor}`}`, undefined, key);
      expect(res.status, res.text).toBe(200);
      out.push(...res.body.data);
      cursor = res.body.nextCursor;
      if (cursor === null) return out;
    }
    throw new Error('too many pages');
  };

  it.skipIf(skip)('the spend per team is the exact sum of its requests\' costs', async () => {
    const spend = await admin(h.url, 'GET', '/spend?group_by=team');
    expect(spend.status, spend.text).toBe(200);
    for (const team of ['alpha', 'beta']) {
      const rows = await all(`team=${team}&limit=1000`);
      expect(rows.map((r) => r.id).sort()).toEqual([...ids[team]!].sort());
      const sum = rows.reduce((s, r) => s + usdToPico(r.cost_usd ?? '0'), 0n);
      expect(sum).toBeGreaterThan(0n);
      expect(spend.body.data.find((g: { team: string }) => g.team === team)).toMatchObject({ requests: rows.length, cost_usd: formatUsd(sum), unpricedRequests: 0 });
    }
    // The refused requests: a group of no team, costing nothing.
    expect(spend.body.data.find((g: { team: string | null }) => g.team === null)).toMatchObject({ requests: 2, cost_usd: '0.00' });
    expect(spend.body.total.requests).toBe(12);
    const byKey = await admin(h.url, 'GET', '/spend?group_by=key,model,deployment,day&team=alpha');
    expect(byKey.body.data).toEqual([expect.objectContaining({ keyId: keys.alpha!.id, model: 'gpt-mini', deployment: 'd', day: new Date().toISOString().slice(0, 10), requests: 7 })]);
    expect(byKey.body.total.cost_usd).toBe(spend.body.data.find((g: { team: string }) => g.team === 'alpha').cost_usd);
  });

  it.skipIf(skip)('exports the same groups as CSV (format=csv or Accept: text/csv), as an attachment', async () => {
    const from = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const to = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const json = await admin(h.url, 'GET', `/spend?group_by=team,model&from=${from}&to=${to}`);
    expect(json.body.data.length).toBeGreaterThan(1);
    const res = await fetch(`${h.url}/admin/v1/spend?group_by=team,model&from=${from}&to=${to}&format=csv`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="spend-${from}-${to}.csv"`);
    const lines = (await res.text()).split('\r\n');
    expect(lines.pop()).toBe('');
    expect(lines[0]).toBe('team,model,requests,promptTokens,completionTokens,cachedTokens,reasoningTokens,cost_usd,unpricedRequests,estimatedRequests');
    const rows = lines.slice(1).map((l) => l.split(','));
    expect(rows).toHaveLength(json.body.data.length);
    for (const [i, g] of (json.body.data as Array<Record<string, unknown>>).entries()) {
      expect(rows[i]).toEqual([g.team ?? '', g.model, String(g.requests), String(g.promptTokens), String(g.completionTokens), String(g.cachedTokens), String(g.reasoningTokens), g.cost_usd, String(g.unpricedRequests), String(g.estimatedRequests)]);
    }
    const accepted = await fetch(`${h.url}/admin/v1/spend?group_by=team`, { headers: { authorization: `Bearer ${ADMIN_KEY}`, accept: 'text/csv' } });
    expect(accepted.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect((await accepted.text()).startsWith('team,requests,')).toBe(true);
    const bad = await admin(h.url, 'GET', '/spend?format=xlsx');
    expect([bad.status, bad.body.error.param]).toEqual([400, 'format']);
  });

  it.skipIf(skip)('pages by cursor neither repeat nor skip; filters apply', async () => {
    const paged = await all('team=alpha&limit=3');
    expect(paged.map((r) => r.id).sort()).toEqual([...ids.alpha!].sort());
    expect(new Set(paged.map((r) => r.id)).size).toBe(7);
    const refused = await all('status=401');
    expect(refused.map((r) => r.id).sort()).toEqual([...ids.none!].sort());
    expect(refused.every((r) => r.team === null && r.cost_usd === null)).toBe(true);
    expect(await all('min_cost_usd=1000')).toEqual([]);
    expect((await all(`key=${keys.beta!.id}&model=gpt-mini&outcome=success`)).length).toBe(3);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect(await all(`from=${future}`)).toEqual([]);
  });

  it.skipIf(skip)('one request in full, with its attempts', async () => {
    const res = await admin(h.url, 'GET', `/requests/${ids.beta![0]}`);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ id: ids.beta![0], team: 'beta', keyId: keys.beta!.id, status: 200, attempts: 1, detail: { attempts: [{ attempt: 1, deployment: 'd', outcome: 'success', status: 200 }] } });
    expect((await admin(h.url, 'GET', '/requests/no-such-request')).status).toBe(404);
  });

  it.skipIf(skip)('prompts and completions are stored, redacted, only for a team that opted in', async () => {
    const stored = (await admin(h.url, 'GET', `/requests/${ids.alpha![0]}`)).body;
    expect(stored.payload).toMatchObject({ truncated: false, request: expect.stringContaining('my key is [REDACTED], keep it') });
    expect(stored.payload.request).not.toContain('sk-live-abc123');
    expect(JSON.parse(stored.payload.response).choices[0].message.content).toEqual(expect.any(String));
    expect((await admin(h.url, 'GET', `/requests/${ids.beta![0]}`)).body.payload).toBeNull();
    // A stream's payload is its text, joined per choice (so redaction sees a secret whole).
    const streamed = await chat(h.url, chatBody('gpt-mini', { stream: true }), { key: keys.alpha!.key });
    const id = streamed.headers['x-gateway-request-id'] as string;
    const until = Date.now() + 10_000;
    let found = await admin(h.url, 'GET', `/requests/${id}`);
    while (found.status !== 200 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
      found = await admin(h.url, 'GET', `/requests/${id}`);
    }
    const text = JSON.parse(found.body.payload.response) as { object: string; choices: Array<{ index: number; text: string }> };
    expect(text.object).toBe('stream.text');
    expect(text.choices).toEqual([{ index: 0, text: expect.stringMatching(/\S/) }]);
    expect((await admin(h.url, 'GET', `/requests/${ids.none![0]}`)).body.payload).toBeNull();
    expect((await admin(h.url, 'GET', '/teams/alpha')).body.payloads).toEqual({ store: true, maxBytes: 4_096, retentionDays: 7, redact: ['sk-live-[a-z0-9]+'] });
    // A pattern that cannot run in linear time is refused, naming it.
    const bad = await admin(h.url, 'PATCH', '/teams/beta', { payloads: { store: true, redact: ['(a)\\1'] } });
    expect({ status: bad.status, param: bad.body.error.param }).toEqual({ status: 400, param: 'payloads.redact[0]' });
  });

  it.skipIf(skip)('a team admin sees only their own team', async () => {
    const spend = await admin(h.url, 'GET', '/spend?group_by=team', undefined, teamAdmin);
    expect(spend.body.data.map((g: { team: string }) => g.team)).toEqual(['alpha']);
    expect((await all('limit=1000', teamAdmin)).every((r) => r.team === 'alpha')).toBe(true);
    expect((await admin(h.url, 'GET', '/spend?team=beta', undefined, teamAdmin)).status).toBe(403);
    expect((await admin(h.url, 'GET', '/requests?team=beta', undefined, teamAdmin)).status).toBe(403);
    expect((await admin(h.url, 'GET', `/requests/${ids.beta![0]}`, undefined, teamAdmin)).status).toBe(403);
    expect((await admin(h.url, 'GET', `/requests/${ids.none![0]}`, undefined, teamAdmin)).status).toBe(403);
    // A member calls models; it reads no spend.
    expect((await admin(h.url, 'GET', '/spend', undefined, keys.alpha!.key)).status).toBe(403);
  });

  it.skipIf(skip)('bad input is a 400 naming the parameter', async () => {
    const cases: Array<[string, string]> = [
      ['/spend?group_by=colour', 'group_by'],
      ['/spend?from=2026-13-01', 'from'],
      ['/spend?from=2026-02-01&to=2026-01-01', 'to'],
      ['/spend?from=2020-01-01&to=2026-01-01', 'to'],
      ['/requests?cursor=not-a-cursor', 'cursor'],
      ['/requests?min_cost_usd=-1', 'min_cost_usd'],
      ['/requests?status=99', 'status'],
      ['/requests?from=yesterday', 'from'],
      ['/requests?limit=1001', 'limit'],
    ];
    for (const [path, param] of cases) {
      const res = await admin(h.url, 'GET', path);
      expect({ path, status: res.status, param: res.body?.error?.param, code: res.body?.error?.code }).toEqual({ path, status: 400, param, code: 'invalid_request' });
    }
  });
});
