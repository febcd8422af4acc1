/**
 * `llm-gateway fake-upstream --dialect vllm-sim` with its parameter flags, run as a user would
 * (dist/main.js): prints its base URL, serves the model named by --model with the parameters
 * given, and stops cleanly on SIGTERM; bad flags are usage errors (exit 2).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const mainJs = resolve(import.meta.dirname, '..', 'dist', 'main.js');
let child: ChildProcess | undefined;
afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

it('starts a simulator with the flags given and stops on SIGTERM', async () => {
  const args = [mainJs, 'fake-upstream', '--dialect', 'vllm-sim', '--port', '0', '--model', 'sim-cli', '--speed', '4', '--kv-capacity-tokens', '1024', '--max-output-tokens', '3'];
  const proc = spawn(process.execPath, args, { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
  child = proc;
  let stdout = '';
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const baseUrl = await new Promise<string>((done, fail) => {
    const deadline = setTimeout(() => fail(new Error(`no listening line within 20 s:\n${stdout}\n${stderr}`)), 20_000);
    proc.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /^vllm-sim \(model sim-cli\) listening on (http:\/\/127\.0\.0\.1:\d+\/v1)\n/.exec(stdout);
      if (m) {
        clearTimeout(deadline);
        done(m[1]!);
      }
    });
    proc.once('exit', (code) => fail(new Error(`exited ${code} before listening:\n${stdout}\n${stderr}`)));
  });
  const models = (await (await fetch(`${baseUrl}/models`)).json()) as { data: Array<{ id: string; max_model_len: number }> };
  expect(models.data).toMatchObject([{ id: 'sim-cli', max_model_len: 1024 }]);
  const res = await fetch(`${baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'sim-cli', messages: [{ role: 'user', content: 'hi' }], max_tokens: 50, stream: true }),
  });
  const text = await res.text();
  // --max-output-tokens 3 caps the 50 asked for: three content deltas.
  expect(text.match(/"delta":\{"content":"[^"]+"\}/g)).toHaveLength(3);
  expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  const exited = new Promise<number | null>((done) => proc.once('exit', (code) => done(code)));
  proc.kill('SIGTERM');
  expect(await exited).toBe(0);
}, 60_000);

it('rejects bad simulator flags and simulator flags on other dialects with exit 2', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [mainJs, 'fake-upstream', ...args], { env: { PATH: process.env.PATH }, encoding: 'utf8', timeout: 20_000 });
  const zero = run('--dialect', 'vllm-sim', '--speed', '0');
  expect(zero.status).toBe(2);
  expect(zero.stderr).toContain('speed must be finite and > 0');
  const word = run('--dialect', 'vllm-sim', '--max-batch', 'many');
  expect(word.status).toBe(2);
  expect(word.stderr).toContain('--max-batch must be a number');
  const other = run('--dialect', 'openai', '--speed', '2');
  expect(other.status).toBe(2);
  expect(other.stderr).toContain('need --dialect vllm-sim');
});
