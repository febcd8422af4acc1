import { appendFile, mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { LedgerRow } from './row.js';

/**
 * A file is closed for appends at this size and a new one started, so writing the spool back
 * reads at most this much at a time, whatever the spool's total.
 */
export const SPOOL_FILE_BYTES = 4 * 1024 * 1024;

const FILE = /^requests-\d{13}-(\d+)-\d+\.jsonl$/;

/**
 * The local spool: request-log rows the database could not take, as JSON lines in files of at
 * most SPOOL_FILE_BYTES, `maxBytes` in all (rows beyond it are refused: the caller counts them
 * dropped). Files are named by the process that wrote them: a process writes back its own
 * closed files and those of processes that are gone (a previous run, a crashed worker), never a
 * live one's (`serve --workers N` shares one directory between its workers).
 */
export class Spool {
  #bytes = 0;
  /** The file appended to now; undefined: the next append starts one. */
  #current: string | undefined;
  #currentBytes = 0;
  #seq = 0;
  /** Files this process began (a file with our pid that is not here is a previous run's: pid 1 in a container). */
  readonly #mine = new Set<string>();

  constructor(
    readonly dir: string,
    private readonly maxBytes: number,
    private readonly nowMs: () => number,
  ) {}

  /**
   * Counts what a previous process left. The directory is made when the first row is spooled,
   * so a gateway whose database never failed leaves none behind.
   */
  async open(): Promise<void> {
    this.#bytes = 0;
    for (const f of await this.files()) this.#bytes += (await stat(join(this.dir, f)).catch(() => ({ size: 0 }))).size;
  }

  /** A file of this process is open for appends (rows spooled since the last rotate). */
  get appending(): boolean {
    return this.#current !== undefined;
  }

  /** Bytes in the spool. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Spool files, oldest first (names start with the time they were begun). */
  async files(): Promise<string[]> {
    const names = await readdir(this.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
    return names.filter((f) => FILE.test(f)).sort();
  }

  /** Appends as many of `rows` as fit in `maxBytes`; returns how many did (the rest are not spooled). */
  async append(rows: readonly LedgerRow[]): Promise<number> {
    let taken = 0;
    let chunk = '';
    let chunkBytes = 0;
    for (const row of rows) {
      const line = `${JSON.stringify(row)}\n`;
      const size = Buffer.byteLength(line);
      if (this.#bytes + chunkBytes + size > this.maxBytes) break;
      if (this.#current === undefined || this.#currentBytes + chunkBytes + size > SPOOL_FILE_BYTES) {
        await this.#write(chunk);
        chunk = '';
        chunkBytes = 0;
        await mkdir(this.dir, { recursive: true });
        this.#current = `requests-${String(Math.floor(this.nowMs())).padStart(13, '0')}-${process.pid}-${this.#seq++}.jsonl`;
        this.#mine.add(this.#current);
        this.#currentBytes = 0;
      }
      chunk += line;
      chunkBytes += size;
      taken += 1;
    }
    await this.#write(chunk);
    return taken;
  }

  /** Closes the file appended to, so everything spooled so far can be written back and removed. */
  rotate(): void {
    this.#current = undefined;
  }

  /**
   * Files no longer appended to: this process's closed ones, and those of processes that are
   * gone. The ones that may be written back and removed.
   */
  async closedFiles(): Promise<string[]> {
    return (await this.files()).filter((f) => {
      if (this.#mine.has(f)) return f !== this.#current;
      const pid = Number(FILE.exec(f)?.[1]);
      return pid === process.pid || !isAlive(pid);
    });
  }

  /**
   * The rows of one closed file, and the lines that were not a row (a crash cut the last one
   * short): the caller writes the rows, then `remove`s the file.
   */
  async read(file: string): Promise<{ rows: LedgerRow[]; bad: number }> {
    const text = await readFile(join(this.dir, file), 'utf8');
    const rows: LedgerRow[] = [];
    let bad = 0;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const row = parseRow(line);
      if (row) rows.push(row);
      else bad += 1;
    }
    return { rows, bad };
  }

  async remove(file: string): Promise<void> {
    this.#mine.delete(file);
    const size = (await stat(join(this.dir, file)).catch(() => ({ size: 0 }))).size;
    await unlink(join(this.dir, file)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    this.#bytes = Math.max(0, this.#bytes - size);
  }

  async #write(chunk: string): Promise<void> {
    if (chunk === '' || this.#current === undefined) return;
    await appendFile(join(this.dir, this.#current), chunk);
    const size = Buffer.byteLength(chunk);
    this.#currentBytes += size;
    this.#bytes += size;
  }
}

/** A spooled line, checked for what the insert needs (the id and start time make its key). */
function parseRow(line: string): LedgerRow | undefined {
  try {
    const row = JSON.parse(line) as Partial<LedgerRow> | null;
    if (!row || typeof row.id !== 'string' || !isRowInstant(row.startedAt) || typeof row.alias !== 'string') return undefined;
    return row as LedgerRow;
  } catch {
    return undefined;
  }
}

/** Day partitions can be made for (the next day's bound included): years 1 to 9998. */
const FIRST_MS = Date.parse('0001-01-01T00:00:00.000Z');
const LAST_MS = Date.parse('9999-01-01T00:00:00.000Z');

/**
 * A start time as the ledger writes one (toISOString of a real instant). A corrupted line's
 * "2026-02-30T…" or "9999-12-31T…" would name a day no partition can be made for: the failure
 * to make it is no bad row but a failed flush, and the file would never be written back.
 */
function isRowInstant(v: unknown): v is string {
  if (typeof v !== 'string') return false;
  const t = Date.parse(v);
  return !Number.isNaN(t) && t >= FIRST_MS && t < LAST_MS && new Date(t).toISOString() === v;
}

function isAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
