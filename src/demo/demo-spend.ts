import { setTimeout as sleep } from 'node:timers/promises';
import { formatUsd, usdToPico } from '../spend/money.js';
import { adminCall } from './demo-admin.js';
import type { DemoResult } from './demo-client.js';
import { out } from './demo-output.js';

/** The request log is written every second (requestLog.flushMs); the demo waits up to ten (a busy CI machine). */
const LEDGER_DEADLINE_MS = 10_000;
const POLL_MS = 100;

interface Tally {
  requests: number;
  pico: bigint;
}

interface SpendRow {
  team: string | null;
  requests: number;
  cost_usd: string;
}

/**
 * The team the request log files a call under: a call refused at authentication (no key, a
 * revoked key) belongs to no team.
 */
function teamOf(r: DemoResult): string | null {
  return r.status === 401 ? null : r.call.tenant;
}

/** What the clients were told, per team: requests sent and the costs the gateway reported to them. */
function clientTallies(results: readonly DemoResult[]): Map<string | null, Tally> {
  const tallies = new Map<string | null, Tally>();
  for (const r of results) {
    const team = teamOf(r);
    const t = tallies.get(team) ?? { requests: 0, pico: 0n };
    t.requests += 1;
    if (r.costUsd !== undefined) t.pico += usdToPico(r.costUsd);
    tallies.set(team, t);
  }
  return tallies;
}

/**
 * `GET /admin/v1/spend?group_by=team`, read again until the request log holds every call the
 * demo made (it is written in batches, off the requests' path) or the deadline passes; then
 * whatever is there.
 */
async function ledgerSpend(url: string, adminKey: string, expected: number): Promise<{ rows: SpendRow[]; complete: boolean }> {
  const deadline = Date.now() + LEDGER_DEADLINE_MS;
  // From yesterday (UTC): a run that crosses midnight, or the end of a month, is still all there
  // (the default range starts on the first of this month); the in-memory database holds nothing older.
  const from = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  for (;;) {
    const reply = await adminCall(url, adminKey, 'GET', `/spend?group_by=team&from=${from}`, 200);
    const rows = reply.body.data as SpendRow[];
    const complete = (reply.body.total.requests as number) >= expected;
    if (complete || Date.now() >= deadline) return { rows, complete };
    await sleep(POLL_MS);
  }
}

/**
 * The end of the story: each team's spend as its clients added it up, next to the spend the
 * request log recorded, and whether the two agree (they must: both are the same exact costs).
 */
export async function reconcileSpend(url: string, adminKey: string, results: readonly DemoResult[]): Promise<void> {
  const clients = clientTallies(results);
  const { rows, complete } = await ledgerSpend(url, adminKey, results.length);
  const ledger = new Map<string | null, Tally>(rows.map((r) => [r.team, { requests: r.requests, pico: usdToPico(r.cost_usd) }]));
  out('Spend per team: what the clients were told, and the request log (GET /admin/v1/spend?group_by=team)');
  if (!complete) out(`  the request log did not hold all ${results.length} requests within ${LEDGER_DEADLINE_MS / 1000} s; showing what it has`);
  out(`  ${'team'.padEnd(9)} ${'requests'.padStart(8)}  ${'clients were told'.padEnd(18)} request log`);
  const teams = [...new Set([...clients.keys(), ...ledger.keys()])].sort((a, b) => (a ?? '~').localeCompare(b ?? '~'));
  const total = { clients: { requests: 0, pico: 0n }, ledger: { requests: 0, pico: 0n } };
  for (const team of teams) {
    const c = clients.get(team) ?? { requests: 0, pico: 0n };
    const l = ledger.get(team) ?? { requests: 0, pico: 0n };
    total.clients.requests += c.requests;
    total.clients.pico += c.pico;
    total.ledger.requests += l.requests;
    total.ledger.pico += l.pico;
    out(line(team ?? 'no team', c, l));
  }
  out(line('total', total.clients, total.ledger));
  out();
}

function line(label: string, c: Tally, l: Tally): string {
  const requests = c.requests === l.requests ? String(c.requests) : `${c.requests}/${l.requests}`;
  const verdict = c.requests === l.requests && c.pico === l.pico ? 'agrees' : 'DIFFERS';
  return `  ${label.padEnd(9)} ${requests.padStart(8)}  ${`$${formatUsd(c.pico)}`.padEnd(18)} ${`$${formatUsd(l.pico)}`.padEnd(18)} ${verdict}`;
}
