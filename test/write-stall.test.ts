/**
 * A client that never reads its response (issue 9 §3): every response has a write-stall bound and
 * large bodies share a global budget of bytes in flight, so such clients cannot pin memory.
 */
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { OutputBudget } from '../src/http/body-writer.js';
import { chat, chatBody, deploymentFor, KEY, startHarness, type Harness, pollUntil } from './helpers/harness.js';

const open: Harness[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(open.splice(0).map((h) => h.close()));
});

// Larger than what the kernel buffers for a client that never reads (its receive window, 128 KiB
// here, plus the gateway's send buffer, at most 4 MiB), so the rest stays on the gateway's side.
const BIG_REPLY = 'abcdefgh'.repeat(1024 * 1024); // 8 MiB of text

describe('write stall', () => {
  it('a client that never reads an 8 MiB answer is cut after the stall timeout and recorded as client_disconnect', async () => {
    const raw: string[] = [];
    const h = await startHarness({
      logger: pino({ level: 'info' }, { write: (l: string) => void raw.push(l) }),
      fakes: [{ dialect: 'openai', behaviour: { reply: BIG_REPLY } }],
      config: ([a]) => ({
        logging: { level: 'info' },
        timeouts: { idleMs: 1_500, totalMs: 60_000 },
        deployments: { a: deploymentFor(a!) },
        models: { m: { targets: [{ deployment: 'a', model: 'x' }] } },
      }),
    });
    open.push(h);
    const { port } = new URL(h.url);
    const socket = connect(Number(port), '127.0.0.1');
    sockets.push(socket);
    let closed = false;
    socket.on('error', () => undefined);
    socket.on('close', () => (closed = true));
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const body = JSON.stringify(chatBody('m'));
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${KEY}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    // Never read: pause the socket so the kernel's receive window fills.
    socket.pause();
    const requests = (): Array<Record<string, unknown>> => raw.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');
    const recorded = await pollUntil(() => requests().length > 0, 30_000);
    expect(recorded).toBe(true);
    expect(requests()).toHaveLength(1);
    expect(requests()[0]).toMatchObject({ outcome: 'client_disconnect', status: 499 });
    // A client that stops reading is not a bug in the gateway: nothing is logged at error level.
    expect(raw.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level >= 50)).toEqual([]);
    // The gateway destroyed its side; the paused client sees the close once it looks.
    socket.resume();
    expect(await pollUntil(() => closed, 10_000)).toBe(true);
    // A reader still gets the whole answer.
    const ok = await chat(h.url, chatBody('m'));
    expect(ok.status).toBe(200);
    expect(ok.json().choices[0].message.content).toBe(BIG_REPLY);
  }, 60_000);
});

describe('OutputBudget (bytes in flight)', () => {
  it('grants in order, makes later pieces wait while over the cap, and a piece larger than the cap fits an empty budget', () => {
    const budget = new OutputBudget(100);
    expect(budget.tryTake(60)).toBe(true);
    expect(budget.tryTake(60)).toBe(false);
    const granted: string[] = [];
    budget.wait(60, () => granted.push('a'));
    const cancelB = budget.wait(30, () => granted.push('b'));
    budget.wait(10, () => granted.push('c'));
    // FIFO: nobody jumps the queue while someone waits.
    expect(budget.tryTake(1)).toBe(false);
    cancelB();
    budget.release(60);
    expect(granted).toEqual(['a', 'c']);
    expect(budget.inFlightBytes).toBe(70);
    budget.release(60);
    budget.release(10);
    expect(budget.inFlightBytes).toBe(0);
    expect(budget.tryTake(500)).toBe(true);
    expect(budget.tryTake(1)).toBe(false);
  });
});
