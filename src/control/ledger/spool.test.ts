import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rowOf } from './row.js';
import { Spool, SPOOL_FILE_BYTES } from './spool.js';
import { finished } from '../../../test/helpers/request-events.js';

const dirs: string[] = [];
async function dir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'spool-test-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const row = (i: number, pad = '') => rowOf(finished(`s-${i}${pad}`), 1_775_000_000_000, {});

describe('request-log spool', () => {
  it('writes back its own closed files and those of gone processes, never a live process\'s', async () => {
    const d = await dir();
    // A process that has exited: its pid is free (reuse within the test is not a concern).
    const gone = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const line = `${JSON.stringify(row(0))}\n`;
    await writeFile(join(d, `requests-0000000000001-${gone}-0.jsonl`), line);
    await writeFile(join(d, `requests-0000000000002-${process.ppid}-0.jsonl`), line);
    // Our own pid but not begun here: a previous run's (pid 1 in a container).
    await writeFile(join(d, `requests-0000000000003-${process.pid}-0.jsonl`), line);
    const spool = new Spool(d, 1_048_576, () => 1_775_000_000_000);
    await spool.open();
    expect(spool.bytes).toBe(3 * Buffer.byteLength(line));
    expect(await spool.append([row(1)])).toBe(1);
    expect(spool.appending).toBe(true);
    const mine = (await spool.files()).find((f) => f.startsWith('requests-1775000000000-'));
    expect(await spool.closedFiles()).toEqual([`requests-0000000000001-${gone}-0.jsonl`, `requests-0000000000003-${process.pid}-0.jsonl`]);
    spool.rotate();
    expect(await spool.closedFiles()).toContain(mine);
    expect(await spool.closedFiles()).not.toContain(`requests-0000000000002-${process.ppid}-0.jsonl`);
  });

  it('closes a file at SPOOL_FILE_BYTES and stops at maxBytes', async () => {
    const d = await dir();
    const pad = 'x'.repeat(2_000);
    const spool = new Spool(d, 10 * 1_048_576, () => 1_775_000_000_000);
    await spool.open();
    const rows = Array.from({ length: 3_000 }, (_, i) => row(i, pad));
    expect(await spool.append(rows)).toBe(3_000);
    const files = await readdir(d);
    // ~6 MB in files of at most 4 MiB.
    expect(files.length).toBe(2);
    for (const f of files) expect((await stat(join(d, f))).size).toBeLessThanOrEqual(SPOOL_FILE_BYTES);
    const taken = await spool.append(Array.from({ length: 3_000 }, (_, i) => row(i + 3_000, pad)));
    expect(taken).toBeGreaterThan(1_000);
    expect(taken).toBeLessThan(3_000);
    expect(spool.bytes).toBeLessThanOrEqual(10 * 1_048_576);
    expect(await spool.append([row(9_999, pad)])).toBe(0);
    const back = await spool.read(files[0] as string);
    expect(back.bad).toBe(0);
    expect(back.rows[0]).toEqual(rows[0]);
  });
});
