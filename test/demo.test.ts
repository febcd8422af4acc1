/**
 * `llm-gateway demo` (the README's first command) as a user runs it: exit code 0, and the control
 * plane part of its story: a team and a key made through the admin API, the key used, revoked and
 * refused, the audit log verified. It needs no service: a DATABASE_URL in the environment (here
 * one that leads nowhere) must not pull it off its embedded database.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

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

describe('llm-gateway demo', () => {
  it('exits 0 after making a team and a key through the admin API, using the key, revoking it and verifying the audit log', async () => {
    const { code, stdout, stderr } = await runDemo();
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
  }, 120_000);
});
