import { asc } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, sharedPostgresAvailable } from '../../test/helpers/postgres.js';
import { appendAudit, canonical, entryHash, genesisHash, storableJson, storableText, type AuditEvent } from './audit.js';
import { parseAnchor, verifyAudit, type AuditAnchor } from './audit-verify.js';
import { openStore } from './store/open-store.js';
import { auditLog } from './store/schema.js';
import type { ControlStore } from './store/store.js';

/**
 * The audit chain against both drivers: every kind of tampering done directly in SQL is reported
 * at the first bad entry with the right problem, values survive the jsonb round trip with their
 * hash, and a check running beside live appends never reports a false break.
 */
const settings = { dataDir: ':memory:', poolSize: 4, connectTimeoutMs: 2_000, statementTimeoutMs: 10_000 };
const pgAvailable = await sharedPostgresAvailable();

const actor = { id: 'bootstrap', type: 'bootstrap' } as const;
const event = (i: number): AuditEvent => ({
  actor,
  action: 'team.updated',
  targetType: 'team',
  targetId: `team-${i}`,
  source: '127.0.0.1',
  requestId: `req-${i}`,
  before: { models: ['a'], metadata: { n: String(i) } },
  after: { models: ['a', 'b'], limits: { requests: { capacity: i, refillPerSecond: 1.5 } } },
});

describe('canonical encoding', () => {
  it('sorts keys at every level and keeps array order', () => {
    expect(canonical({ b: 1, a: [{ d: 2, c: 3 }, 1] })).toBe('{"a":[{"c":3,"d":2},1],"b":1}');
  });

  it('stores what jsonb returns: Dates as ISO strings, undefined members dropped, NaN null, NUL and lone surrogates replaced', () => {
    expect(storableJson({ d: new Date(0), u: undefined, n: Number.NaN, s: 'a\u0000b', l: '\ud800x', [`k\u0000`]: 1, ok: '😀' })).toEqual({
      d: '1970-01-01T00:00:00.000Z',
      n: null,
      s: 'a\ufffdb',
      l: '\ufffdx',
      'k\ufffd': 1,
      ok: '😀',
    });
    expect(storableJson(undefined)).toBeNull();
    expect(storableJson([undefined, () => 1])).toEqual([null, null]);
    expect(storableText('\udc00\ud83d\ude00\ud83d')).toBe('\ufffd😀\ufffd');
  });

  it('parses anchors as SEQ:HASH only', () => {
    expect(parseAnchor(`12:${'a'.repeat(64)}`)).toEqual({ seq: 12, hash: 'a'.repeat(64) });
    for (const bad of ['0:' + 'a'.repeat(64), '12:' + 'A'.repeat(64), '12:abc', '-1:' + 'a'.repeat(64), `12:${'a'.repeat(64)}x`]) expect(parseAnchor(bad), bad).toBeUndefined();
  });
});

describe.each([
  ['embedded (PGlite)', false],
  ['postgres server', true],
] as const)('audit chain on %s', (_label, server) => {
  describe.skipIf(server && !pgAvailable)('', () => {
    let store: ControlStore;
    let drop: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      const url = server ? await createTestDatabase('audit').then((d) => ((drop = d.drop), d.url)) : undefined;
      ({ store } = await openStore({ ...settings, url }, () => undefined));
    }, 60_000);
    afterAll(async () => {
      await store?.close();
      await drop?.();
    });

    /** Raw SQL with parameters, on either driver. */
    const exec = (text: string, params: unknown[] = []): Promise<unknown[]> => store.transaction((tx) => tx.rows(text, params));
    const append = (events: readonly AuditEvent[], at = new Date()): Promise<void> => store.db.transaction((tx) => appendAudit(tx, events, at));
    const all = () => store.db.select().from(auditLog).orderBy(asc(auditLog.seq));
    const verify = (anchors: readonly AuditAnchor[] = []) => verifyAudit(store.db, { anchors });

    /** Recomputes prev_hash and hash from entry `from` on, as an attacker with the algorithm would; optionally the head too. */
    async function rechain(from: number, moveHead: boolean): Promise<void> {
      const rows = await all();
      let prev = rows.find((r) => r.seq === from - 1)?.hash ?? genesisHash;
      for (const r of rows.filter((x) => x.seq >= from)) {
        const hash = entryHash({ ...r, prevHash: prev });
        await exec('UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE seq = $3', [prev, hash, r.seq]);
        prev = hash;
      }
      if (moveHead) await exec('UPDATE control_state SET audit_seq = $1, audit_hash = $2', [rows.at(-1)?.seq ?? 0, prev]);
    }

    // Six entries: two single changes, then a change recording four (as a team deletion would).
    beforeEach(async () => {
      await exec('DELETE FROM audit_log');
      await exec(`UPDATE control_state SET audit_seq = 0, audit_hash = '${genesisHash}'`);
      await append([event(1)], new Date('2026-01-01T00:00:00.001Z'));
      await append([event(2)], new Date('2026-01-01T00:00:01.002Z'));
      await append([event(3), event(4), event(5), event(6)], new Date('2026-01-01T00:00:02.003Z'));
    });

    it('an untouched chain verifies, and names its head', async () => {
      const rows = await all();
      expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(await verify()).toEqual({ ok: true, entries: 6, head: { seq: 6, hash: rows[5]?.hash } });
    });

    it.each([
      ['after', `UPDATE audit_log SET after = jsonb_set(after, '{models}', '["a","b","c"]') WHERE seq = 3`, 3],
      ['actor', `UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2`, 2],
      ['at (by a second)', `UPDATE audit_log SET at = at + interval '1 second' WHERE seq = 4`, 4],
      ['at (by a microsecond: below JavaScript time, still reported)', `UPDATE audit_log SET at = at + interval '1 microsecond' WHERE seq = 5`, 5],
      ['at (to infinity: cannot even be hashed)', `UPDATE audit_log SET at = 'infinity' WHERE seq = 1`, 1],
      ['the hash alone', `UPDATE audit_log SET hash = repeat('a', 64) WHERE seq = 6`, 6],
      ['a jsonb value to an equal-looking text', `UPDATE audit_log SET before = '{"models":["a"],"metadata":{"n":3}}' WHERE seq = 3`, 3],
    ])('an edit of %s is reported at that entry', async (_what, statement, seq) => {
      await exec(statement);
      const result = await verify();
      expect(result).toMatchObject({ ok: false, entries: seq - 1, firstBad: { seq, problem: 'changed' } });
      expect(result.firstBad?.reason).toMatch(/does not match its hash/);
    });

    it('a removed middle entry is reported missing', async () => {
      await exec('DELETE FROM audit_log WHERE seq = 3');
      expect(await verify()).toMatchObject({ ok: false, entries: 2, firstBad: { seq: 3, problem: 'missing', reason: expect.stringMatching(/entry 3 is missing.*next entry is 4/) } });
      await exec('DELETE FROM audit_log WHERE seq = 4');
      expect((await verify()).firstBad).toMatchObject({ seq: 3, problem: 'missing', reason: expect.stringMatching(/entries 3-4 are missing/) });
    });

    it('a removed first entry is reported missing', async () => {
      await exec('DELETE FROM audit_log WHERE seq = 1');
      expect((await verify()).firstBad).toMatchObject({ seq: 1, problem: 'missing' });
    });

    it('entries removed from the end are reported against the recorded head', async () => {
      await exec('DELETE FROM audit_log WHERE seq >= 5');
      expect(await verify()).toMatchObject({ ok: false, entries: 4, firstBad: { seq: 5, problem: 'truncated', reason: expect.stringMatching(/ends at entry 4.*entry 6.*5-6 were removed/) } });
      await exec('DELETE FROM audit_log');
      expect((await verify()).firstBad).toMatchObject({ seq: 1, problem: 'truncated' });
    });

    it('two entries swapped (their seq exchanged) are reported at the first', async () => {
      await exec('UPDATE audit_log SET seq = -3 WHERE seq = 3');
      await exec('UPDATE audit_log SET seq = 3 WHERE seq = 4');
      await exec('UPDATE audit_log SET seq = 4 WHERE seq = -3');
      expect(await verify()).toMatchObject({ ok: false, entries: 2, firstBad: { seq: 3, problem: 'changed' } });
    });

    it('a forged entry with a recomputed hash but the wrong prev_hash is reported at the forgery', async () => {
      const [original] = (await all()).filter((r) => r.seq === 4);
      const forged = { ...original!, actor: 'innocent', prevHash: 'f'.repeat(64) };
      await exec('DELETE FROM audit_log WHERE seq = 4');
      await store.db.insert(auditLog).values({ ...forged, hash: entryHash(forged) });
      expect(await verify()).toMatchObject({ ok: false, entries: 3, firstBad: { seq: 4, problem: 'unlinked', reason: expect.stringMatching(/does not carry the hash of entry 3/) } });
    });

    it('an edited entry whose own hash was recomputed is reported at that entry, not its successor', async () => {
      const [row] = (await all()).filter((r) => r.seq === 3);
      const edited = { ...row!, after: { models: ['everything'] } };
      await exec('UPDATE audit_log SET after = $1, hash = $2 WHERE seq = 3', [JSON.stringify(edited.after), entryHash(edited)]);
      expect(await verify()).toMatchObject({ ok: false, entries: 2, firstBad: { seq: 3, problem: 'rehashed', reason: expect.stringMatching(/entry 4 still carries/) } });
    });

    it('the last entry edited and its hash recomputed is reported against the recorded head', async () => {
      const [last] = (await all()).slice(-1);
      await exec('UPDATE audit_log SET actor = $1, hash = $2 WHERE seq = 6', ['x', entryHash({ ...last!, actor: 'x' })]);
      expect(await verify()).toMatchObject({ ok: false, entries: 5, firstBad: { seq: 6, problem: 'rewritten' } });
    });

    it('a first entry that does not start from the genesis hash is reported', async () => {
      await rechain(1, true);
      const [first] = await all();
      const forged = { ...first!, prevHash: '1'.repeat(64) };
      await exec('UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE seq = 1', [forged.prevHash, entryHash(forged)]);
      expect((await verify()).firstBad).toMatchObject({ seq: 1, problem: 'unlinked', reason: expect.stringMatching(/start of the chain/) });
    });

    it('a suffix rewritten consistently but with the old head is reported at the end: where it starts cannot be known without an anchor', async () => {
      const anchor = (await all()).find((r) => r.seq === 3)!;
      await exec(`UPDATE audit_log SET actor = 'rewritten' WHERE seq = 3`);
      await rechain(3, false);
      expect(await verify()).toMatchObject({ ok: false, entries: 5, firstBad: { seq: 6, problem: 'rewritten', reason: expect.stringMatching(/not the head recorded/) } });
      // An anchor saved before the rewrite points at the entry (or before it).
      expect(await verify([{ seq: 3, hash: anchor.hash }])).toMatchObject({ ok: false, entries: 2, firstBad: { seq: 3, problem: 'anchor' } });
    });

    it('LIMIT: the whole suffix and the head rewritten together verify; only an anchor kept elsewhere reveals it', async () => {
      const before = await verify();
      await exec(`UPDATE audit_log SET action = 'team.created' WHERE seq = 4`);
      await rechain(4, true);
      expect((await verify()).ok).toBe(true);
      const found = await verify([before.head!]);
      expect(found).toMatchObject({ ok: false, firstBad: { seq: 6, problem: 'anchor' } });
      const earlier = (await verify([{ seq: 2, hash: (await all())[1]!.hash }, before.head!])).firstBad;
      expect(earlier?.reason).toMatch(/after entry 2 and up to this one/);
    });

    it('LIMIT: entries removed from the end with the head moved back verify; an anchor beyond the end reveals it', async () => {
      const before = await verify();
      await exec('DELETE FROM audit_log WHERE seq >= 5');
      await rechain(5, true);
      expect(await verify()).toMatchObject({ ok: true, entries: 4 });
      expect(await verify([before.head!])).toMatchObject({ ok: false, firstBad: { seq: 5, problem: 'anchor', reason: expect.stringMatching(/records entry 6 but the chain ends at entry 4/) } });
    });

    it('an entry appended outside the gateway (after the head, or numbered below 1) is reported', async () => {
      const [last] = (await all()).slice(-1);
      const forged = { ...last!, seq: 7, prevHash: last!.hash, action: 'key.created' };
      await store.db.insert(auditLog).values({ ...forged, hash: entryHash(forged) });
      expect(await verify()).toMatchObject({ ok: false, entries: 6, firstBad: { seq: 7, problem: 'beyond_head' } });
      await exec('DELETE FROM audit_log WHERE seq = 7');
      await store.db.insert(auditLog).values({ ...forged, seq: 0, hash: entryHash({ ...forged, seq: 0 }) });
      expect((await verify()).firstBad).toMatchObject({ seq: 0, problem: 'beyond_head' });
    });

    it('a missing control_state row is reported', async () => {
      await exec('DELETE FROM control_state');
      try {
        expect(await verify()).toMatchObject({ ok: false, firstBad: { problem: 'no_head' } });
      } finally {
        await exec(`INSERT INTO control_state (id, version, audit_seq, audit_hash) VALUES (1, 1, 0, '${genesisHash}')`);
      }
    });

    it('values survive the jsonb round trip with their hash: unicode, big and tiny numbers, -0, nesting, Dates, undefined, NUL', async () => {
      const awkward: AuditEvent = {
        actor: { id: 'user\u0000with-nul', type: 'user' },
        action: 'team.updated',
        targetType: 'team',
        targetId: 'lone-\ud800-surrogate',
        source: '::ffff:127.0.0.1',
        requestId: 'r',
        before: {
          unicode: ['é', 'e\u0301', '\u2028\u2029', '😀', '\u0007', 'quote"back\\slash', '\ud83d'],
          numbers: [1e21, 5e-324, 2 ** 53 + 1, -0, 0.1, 1e300, -1.5e-7, 123456789.123456789],
          nested: [[[{ z: 1, a: [{}, []] }]], { '': null, 'é': 1, e: 2, Z: 3 }],
          nul: 'a\u0000b',
          [`key\u0000`]: true,
        },
        after: { date: new Date('2026-05-01T12:00:00.123Z'), gone: undefined, nan: Number.NaN, inf: Number.POSITIVE_INFINITY, list: [undefined] },
      };
      await append([awkward]);
      expect(await verify()).toMatchObject({ ok: true, entries: 7 });
      const [stored] = (await all()).slice(-1);
      expect(stored).toMatchObject({ actor: 'user\ufffdwith-nul', targetId: 'lone-\ufffd-surrogate' });
      expect(stored?.after).toEqual({ date: '2026-05-01T12:00:00.123Z', nan: null, inf: null, list: [null] });
      expect((stored?.before as { numbers: number[] }).numbers).toEqual([1e21, 5e-324, 2 ** 53, 0, 0.1, 1e300, -1.5e-7, 123456789.12345679]);
      expect((stored?.before as { nul: string }).nul).toBe('a\ufffdb');
    });

    it('a check running beside live appends never reports a false break', async () => {
      // Enough entries for several pages, and appends (batches, like the security queue) during every check.
      for (let i = 0; i < 25; i++) await append(Array.from({ length: 100 }, (_, j) => event(i * 100 + j)));
      let appending = true;
      const appender = (async () => {
        let n = 0;
        while (appending) await append([event(n++), event(n++)]);
        return n;
      })();
      const results = [];
      try {
        for (let i = 0; i < 4; i++) results.push(await verify());
      } finally {
        appending = false;
      }
      const appended = await appender;
      expect(appended).toBeGreaterThan(0);
      for (const r of results) expect(r).toMatchObject({ ok: true });
      expect(await verify()).toMatchObject({ ok: true, entries: 6 + 2_500 + appended });
    }, 60_000);
  });
});
