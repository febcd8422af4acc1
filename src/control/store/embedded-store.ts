import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cp, link, mkdir, mkdtemp, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { changeChannel, type ControlStore } from './store.js';
import { schema } from './schema.js';

/**
 * Settings for the embedded server. PostgreSQL's defaults (128 MB of shared buffers) are sized
 * for a database server; the control plane's tables are small, and a gateway replica should not
 * hold more memory for them than it needs.
 */
export const embeddedSettings = ['shared_buffers = 4MB', 'wal_buffers = 256kB', 'work_mem = 2MB', 'maintenance_work_mem = 8MB', 'temp_buffers = 2MB', 'max_connections = 4'];

/** `:memory:`: a throw-away database in a temporary directory, removed at close. */
export const memoryDataDir = ':memory:';

/** The data directory is held by another live process (a running gateway). */
export class DataDirInUseError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(`the data directory ${dir} is in use by process ${pid}; the embedded database serves one process (use state.database.url for replicas)`);
  }
}

export interface EmbeddedOptions {
  /** Open only a database that exists (never create one), and refuse every write: for tools that read. */
  readonly readOnly?: boolean;
}

/**
 * Opens PGlite on `dataDir` (made from a template when new) and holds a lock file in it, so a
 * second process pointed at the same directory is refused instead of corrupting it.
 */
/**
 * Opens PGlite on `dataDir` (made from a template when new) and holds a lock file in it, so a
 * second process pointed at the same directory is refused instead of corrupting it.
 */
export async function openEmbeddedStore(dataDir: string, options: EmbeddedOptions = {}): Promise<ControlStore> {
  const temporary = dataDir === memoryDataDir;
  if (options.readOnly && (temporary || !(await exists(join(resolve(dataDir), 'PG_VERSION'))))) {
    throw new Error(temporary ? 'state.database.dataDir is :memory:: the database lives only inside the gateway process' : `there is no embedded database in ${resolve(dataDir)} (no gateway has run with this data directory)`);
  }
  const dir = temporary ? await mkdtemp(join(tmpdir(), 'llm-gateway-db-')) : resolve(dataDir);
  await mkdir(dir, { recursive: true });
  const unlock = await lockDataDir(dir);
  let client: PGlite;
  try {
    if (!(await exists(join(dir, 'PG_VERSION')))) await copyTemplate(dir);
    client = await PGlite.create({ dataDir: dir, postgresqlconf: embeddedSettings });
    if (options.readOnly) await client.exec('SET default_transaction_read_only = on');
  } catch (err) {
    await unlock();
    if (temporary) await rm(dir, { recursive: true, force: true });
    throw err;
  }
  takeTurns(client);
  const db = drizzle({ client, schema });
  let closed = false;
  const handlers: Array<(payload: string | null) => void> = [];
  let unlisten: (() => Promise<void>) | undefined;
  return {
    kind: 'embedded',
    db,
    onChange(handler) {
      handlers.push(handler);
      if (handlers.length > 1) return;
      void client
        .listen(changeChannel, (payload) => {
          for (const h of handlers) h(payload);
        })
        .then((stop) => (unlisten = stop));
    },
    transaction(fn) {
      return client.transaction(async (tx) =>
        fn({
          exec: async (sql) => {
            await tx.exec(sql);
          },
          rows: async <R>(sql: string, params?: unknown[]) => (await tx.query<R>(sql, params)).rows,
        }),
      );
    },
    async close() {
      if (closed) return;
      closed = true;
      await unlisten?.().catch(() => undefined);
      await client.close();
      await unlock();
      if (temporary) await rm(dir, { recursive: true, force: true });
    },
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Data directories this process has open: its own lock file does not tell (see lockDataDir). */
const openHere = new Set<string>();

/**
 * An exclusive lock file holding our pid. A lock left by a process that no longer exists (a
 * crash, kill -9) is taken over, and so is one with our own pid that this process does not hold
 * (a previous run with the same pid: pid 1 in a container); one held by a live process, or by
 * this process, refuses the start.
 */
async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  if (openHere.has(dir)) throw new Error(`the data directory ${dir} is already open in this process`);
  const path = join(dir, 'llm-gateway.lock');
  // Written whole, then linked into place: a process that finds the lock never reads it half-written.
  const draft = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(draft, String(process.pid));
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await link(draft, path);
        openHere.add(dir);
        return async () => {
          openHere.delete(dir);
          await unlink(path).catch(() => undefined);
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
        if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
          throw new DataDirInUseError(dir, holder);
        }
        await unlink(path).catch(() => undefined);
      }
    }
  } finally {
    await unlink(draft).catch(() => undefined);
  }
  throw new Error(`cannot lock the data directory ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A new data directory is copied from a template made once per machine and PGlite version. A
 * fresh initdb inside PGlite takes about 4 s and leaves the process holding some 700 MB; made
 * in a child process, once, it costs the gateway neither (starting on the copy: ~0.5 s, ~150 MB).
 */
async function copyTemplate(dir: string): Promise<void> {
  // Named by PGlite's version and the settings, so a change to either makes a template of its own.
  const settings = createHash('sha256').update(embeddedSettings.join('\n')).digest('hex').slice(0, 8);
  const template = join(tmpdir(), `llm-gateway-pglite-${await pgliteVersion()}-${settings}-template`);
  if (!(await exists(join(template, 'PG_VERSION')))) {
    const building = await mkdtemp(`${template}.building-`);
    try {
      await runTemplateChild(building);
      // Atomic: concurrent starts each build their own; the first rename wins, the others find it.
      await rename(building, template).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
      });
    } finally {
      await rm(building, { recursive: true, force: true });
    }
  }
  await cp(template, dir, { recursive: true });
}

/**
 * The child is a plain Node process given the PGlite module by absolute URL, so it runs the same
 * from the build and from the sources under test.
 */
function runTemplateChild(dir: string): Promise<void> {
  const script = `const { PGlite } = await import(process.argv[1]);
const db = await PGlite.create({ dataDir: process.argv[2], postgresqlconf: JSON.parse(process.argv[3]) });
await db.close();`;
  const args = ['--input-type=module', '-e', script, import.meta.resolve('@electric-sql/pglite'), dir, JSON.stringify(embeddedSettings)];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2_000)));
    // initdb takes ~4 s on a quiet machine; a minute covers a busy one, and the start never hangs.
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise();
      else reject(new Error(`creating the embedded database failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`));
    });
  });
}

/** The PGlite version names the template: a new version initialises its own. */
async function pgliteVersion(): Promise<string> {
  const entry = fileURLToPath(import.meta.resolve('@electric-sql/pglite'));
  const pkg = JSON.parse(await readFile(join(entry, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * PGlite runs each statement synchronously on the gateway's event loop. Left to itself it runs
 * queued statements back to back (its lock hands over in a microtask), so eight batch items'
 * queries, or a request-log flush, held the loop for 100–300 ms at a time and every live request
 * waited behind them (a 200-item batch took a live request's p50 from 20 to 316 ms). Here
 * statements and transactions take turns, one at a time, each after a macrotask, so the loop
 * serves I/O between any two: a live request waits for at most one statement. Statements inside
 * a transaction run on its own handle and are not gated (the transaction holds the turn).
 * bench/micro/batch-beside-live.mjs: a live p50 during a 200-item batch went from 316 to 50 ms.
 */
function takeTurns(client: PGlite): void {
  let turn: Promise<void> = Promise.resolve();
  const gate = <K extends 'query' | 'exec' | 'transaction'>(name: K): void => {
    const run = (client[name] as (...args: unknown[]) => Promise<unknown>).bind(client);
    (client as unknown as Record<K, (...args: unknown[]) => Promise<unknown>>)[name] = (...args: unknown[]) => {
      const result = turn.then(nextMacrotask).then(() => run(...args));
      turn = result.then(noop, noop);
      return result;
    };
  };
  gate('query');
  gate('exec');
  gate('transaction');
}

const nextMacrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const noop = (): void => undefined;
