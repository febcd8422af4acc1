/**
 * `llm-gateway demo --console` (README): the demo's story, then the gateway keeps serving with
 * the web console at /ui, prints the URL and a credential to paste, keeps a little traffic going,
 * and stops cleanly on SIGTERM. Runs dist/main.js as a user would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const mainJs = resolve(import.meta.dirname, '..', 'dist', 'main.js');
let child: ChildProcess | undefined;
afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

it('keeps serving the console after the demo, with a working credential, until SIGTERM', async () => {
  const proc = spawn(process.execPath, [mainJs, 'demo', '--console'], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
  child = proc;
  let stdout = '';
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const opened = await new Promise<RegExpExecArray>((done, fail) => {
    const deadline = setTimeout(() => fail(new Error(`no console line within 90 s:\n${stdout}\n${stderr}`)), 90_000);
    proc.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+)\/ui\/\n {2}sign in with the demo's admin credential: ([0-9a-f]{64})\n/.exec(stdout);
      if (m) {
        clearTimeout(deadline);
        done(m);
      }
    });
    proc.once('exit', (code) => fail(new Error(`exited ${code} before opening the console:\n${stdout}\n${stderr}`)));
  });
  const [, url, credential] = opened;
  const page = await fetch(`${url}/ui/`);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('llm-gateway console');
  const me = await fetch(`${url}/admin/v1/me`, { headers: { authorization: `Bearer ${credential}` } });
  expect(me.status).toBe(200);
  expect(((await me.json()) as { role: string }).role).toBe('admin');
  // The demo keeps traffic going while the console is open: the request count grows.
  const count = async (): Promise<number> => {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    return [...metrics.matchAll(/^gateway_requests_total\{[^}]*route="\/v1\/chat\/completions"[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  };
  const before = await count();
  await expect.poll(count, { timeout: 10_000, interval: 250 }).toBeGreaterThan(before);
  const exited = new Promise<number | null>((done) => proc.once('exit', (code) => done(code)));
  proc.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(stdout).toContain('Stopping the console.');
}, 120_000);
