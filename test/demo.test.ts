/**
 * `llm-gateway demo` (the README's first command) as a user runs it: exit code 0, the control
 * plane part of its story (a team and a key made through the admin API, the key used, revoked and
 * refused, the audit log verified) and the spend part (a cost on every served call, team-e's
 * soft-limit alert through the webhook and its hard stop, each team's spend in the request log
 * equal to what its clients were told). It needs no service: a DATABASE_URL in the environment
 * (here one that leads nowhere) must not pull it off its embedded database.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { budgetTeam } from '../src/demo/demo-config.js';
import { usdToPico } from '../src/spend/money.js';

const mainJs = resolve(import.meta.dirname, '..', 'dist', 'main.js');

function runDemo(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [mainJs, 'demo'], {
    env: { PATH: process.env.PATH, DATABASE_URL: 'postgres://nobody@127.0.0.1:9/nowhere' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolveRun) => {
    // The demo ends by itself in seconds; on a very busy machine, a minute and a half at most.
    const deadline = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.once('exit', (code) => {
      clearTimeout(deadline);
      resolveRun({ code, stdout, stderr });
    });
  });
}

/** A served call's line: `#07 team-a  gpt-stable    json    200  fast-vllm     attempts 2  227 ms  $0.00000107`. */
const servedLine = /^ {2}#\d\d (\S+) +(\S+) +(?:stream|json) +200 {2}\S+ +attempts \d+ +\d+ ms {2}(.*)$/gm;

describe('llm-gateway demo', () => {
  let run: { code: number | null; stdout: string; stderr: string };
  beforeAll(async () => {
    run = await runDemo();
  }, 120_000);

  it('exits 0 after making a team and a key through the admin API, using the key, revoking it and verifying the audit log', () => {
    const { code, stdout, stderr } = run;
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/POST {3}\/admin\/v1\/teams {8}201 {2}team team-d, may use gpt-mini/);
    const key = /POST {3}\/admin\/v1\/keys {9}201 {2}(key_[0-9a-f]{16}) for team-d: sk-gw-\S{6}… \(the secret is shown once/.exec(stdout);
    expect(key, stdout).not.toBeNull();
    // The key's calls: one refused by model (the team may use gpt-mini only), then refused once revoked.
    expect(stdout).toMatch(/#\d\d team-d {2}gpt-stable +json +403 /);
    expect(stdout).toMatch(new RegExp(`DELETE /admin/v1/keys/${key?.[1]} {2}200 {2}revoked at `));
    expect(stdout).toMatch(/#\d\d team-d {2}gpt-mini +json +401 {2}Incorrect API key provided\./);
    expect(stdout).toContain(`team.created team-d, key.created ${key?.[1]}, key.revoked ${key?.[1]}`);
    expect(stdout).toMatch(/GET {4}\/admin\/v1\/audit\/verify 200 {2}hash chain intact over \d+ entries/);
    // The secret itself is never printed, only its prefix.
    expect(stdout).not.toMatch(/sk-gw-[A-Za-z0-9_-]{20}/);
  });

  it('shows a non-zero cost on every served call, JSON and streamed, as the gateway reported it', () => {
    const { stdout } = run;
    const served = [...stdout.matchAll(servedLine)];
    expect(served.length, stdout).toBeGreaterThanOrEqual(25);
    for (const [line, , , rest] of served) {
      const cost = /^\$(\d+\.\d+)(?: \(estimated\))?(?:,| \(fallback to [\w.-]+\)|$)/.exec(rest!);
      expect(cost, line).not.toBeNull();
      expect(usdToPico(cost![1]!), line).toBeGreaterThan(0n);
    }
    // Streams carry their cost in the final usage chunk, JSON replies in a header: both are read.
    expect(served.some(([line]) => / stream +200 /.test(line)), stdout).toBe(true);
    expect(served.some(([line]) => / json +200 /.test(line)), stdout).toBe(true);
    // Triton reports no usage: its cost is estimated, and says so.
    expect(stdout).toMatch(/ 200 {2}slow-triton +attempts \d+ +\d+ ms {2}\$0\.\d+ \(estimated\)/);
  });

  it("crosses team-e's soft limit (the webhook alert arrives) and then stops it with 429 budget_exceeded", () => {
    const { stdout } = run;
    const { softLimitUsd, limitUsd } = budgetTeam.budget;
    const alert = new RegExp(
      `^ {2}webhook {2}budget\\.soft_limit_crossed for team:team-e \\(daily\\): spent \\$(\\d+\\.\\d+), soft limit \\$${softLimitUsd.replace('.', '\\.')}, hard limit \\$${limitUsd.replace('.', '\\.')}, resets \\d{4}-\\d\\d-\\d\\dT00:00:00\\.000Z$`,
      'm',
    ).exec(stdout);
    expect(alert, stdout).not.toBeNull();
    expect(usdToPico(alert![1]!)).toBeGreaterThanOrEqual(usdToPico(softLimitUsd));
    expect(stdout).not.toContain('no soft-limit alert arrived');

    // team-e's served calls: past the soft limit, never past the hard one.
    const spent = [...stdout.matchAll(servedLine)].filter((m) => m[1] === 'team-e').reduce((sum, m) => sum + usdToPico(/^\$(\d+\.\d+)/.exec(m[3]!)![1]!), 0n);
    expect(spent).toBeGreaterThanOrEqual(usdToPico(softLimitUsd));
    expect(spent).toBeLessThanOrEqual(usdToPico(limitUsd));

    expect(stdout).toMatch(/^ {2}#\d\d team-e {2}llama-8b +(?:stream|json) +429 {2}Budget exceeded: the team 'team-e' daily budget of \$0\.0005 has no room/m);
    const stop = /^ {2}hard stop: 429 budget_exceeded \(x-should-retry: false, Retry-After \d+s\)\n {4}"(.*)"$/m.exec(stdout);
    expect(stop, stdout).not.toBeNull();
    expect(stop![1]).toMatch(/^Budget exceeded: the team 'team-e' daily budget of \$0\.0005 has no room for this request \(.*\)\. It resets at \d{4}-\d\d-\d\dT00:00:00\.000Z\.$/);
    // The alert is printed before the stop is (the demo waits for it first).
    expect(stdout.indexOf('webhook  budget.soft_limit_crossed')).toBeLessThan(stop!.index);
    expect(stdout).toMatch(/budget stops: 1 \(team-e over its daily budget\)/);
  });

  it("prints each team's spend from GET /admin/v1/spend, equal to the sum of the costs its clients were told", () => {
    const { stdout } = run;
    expect(stdout).not.toContain('the request log did not hold');
    expect(stdout).not.toContain('DIFFERS');
    const costs = new Map<string, bigint>();
    for (const m of stdout.matchAll(servedLine)) costs.set(m[1]!, (costs.get(m[1]!) ?? 0n) + usdToPico(/^\$(\d+\.\d+)/.exec(m[3]!)![1]!));
    const row = (label: string): RegExpExecArray | null => new RegExp(`^ {2}${label} +\\d+ {2}\\$(\\d+\\.\\d+) +\\$(\\d+\\.\\d+) +agrees$`, 'm').exec(stdout);
    for (const team of ['team-a', 'team-b', 'team-c', 'team-d', 'team-e']) {
      const r = row(team);
      expect(r, `${team}\n${stdout}`).not.toBeNull();
      // What the table says the clients were told is what the per-call lines showed, and the request log agrees.
      expect(usdToPico(r![1]!), team).toBe(costs.get(team));
      expect(usdToPico(r![2]!), team).toBe(costs.get(team));
      expect(costs.get(team)!, team).toBeGreaterThan(0n);
    }
    const total = row('total');
    expect(total, stdout).not.toBeNull();
    expect(usdToPico(total![2]!)).toBe([...costs.values()].reduce((a, b) => a + b, 0n));
  });
});
