import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { and, asc, eq, gt, type SQL } from 'drizzle-orm';
import { ConfigError, loadConfig, type GatewayConfig } from '../config/load.js';
import { GatewayError } from '../errors/gateway-error.js';
import { auditEntryJson } from './audit.js';
import { parseAnchor, verifyAudit, type AuditAnchor } from './audit-verify.js';
import { redact } from './control-plane.js';
import { auditLog } from './store/schema.js';
import type { ControlStore } from './store/store.js';

/**
 * `llm-gateway audit verify|export --config FILE`: reads the audit log of the configured store
 * without starting a gateway and without changing anything (no migration, read-only sessions).
 * Against a PostgreSQL server it runs beside live gateways; the embedded store serves one process,
 * so while a gateway holds it the check must go through that gateway's admin API.
 *
 * Exit codes: 0 the chain verifies (or the export finished); 1 it does not; 2 usage; 3 the check
 * could not run (config, database unreachable, not migrated, embedded store in use).
 */
export const auditUsage = `  llm-gateway audit verify --config FILE [--json] [--anchor SEQ:HASH]...
                                                          check the audit log's hash chain (exit 0 sound,
                                                          1 with the first bad entry, 3 cannot check)
  llm-gateway audit export --config FILE [--since T] [--until T] [--after SEQ] [--limit N]
                                                          print audit entries as JSON lines, oldest first
`;

const EXIT_BROKEN = 1;
const EXIT_USAGE = 2;
const EXIT_CANNOT_CHECK = 3;

class CannotCheck extends Error {}

export async function auditCommand(args: readonly string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(`Usage:\n${auditUsage}`);
    return 0;
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        config: { type: 'string', short: 'c' },
        json: { type: 'boolean', default: false },
        anchor: { type: 'string', multiple: true },
        since: { type: 'string' },
        until: { type: 'string' },
        after: { type: 'string' },
        limit: { type: 'string' },
      },
    }));
  } catch (err) {
    return usage((err as Error).message);
  }
  if (sub !== 'verify' && sub !== 'export') return usage(sub === undefined ? 'audit needs verify or export' : `unknown audit command: ${sub}`);
  if (!values.config) return usage(`audit ${sub} needs --config FILE`);
  const json = values.json === true;
  try {
    if (sub === 'verify') {
      if (values.since !== undefined || values.until !== undefined || values.after !== undefined || values.limit !== undefined) return usage('audit verify checks the whole chain: --since, --until, --after and --limit are export options');
      const anchors: AuditAnchor[] = [];
      for (const text of values.anchor ?? []) {
        const anchor = parseAnchor(text);
        if (!anchor) return usage(`--anchor must be SEQ:HASH (an entry number and its 64-character hex hash), got ${text}`);
        anchors.push(anchor);
      }
      return await withStore(values.config, (store) => verify(store, anchors, json));
    }
    if (values.anchor !== undefined) return usage('--anchor is a verify option');
    const filters = new URLSearchParams();
    if (values.since !== undefined) filters.set('since', values.since);
    if (values.until !== undefined) filters.set('until', values.until);
    const after = values.after === undefined ? 0 : Number(values.after);
    if (!Number.isSafeInteger(after) || after < 0) return usage(`--after must be an entry number (0 or more), got ${values.after}`);
    const limit = values.limit === undefined ? Number.POSITIVE_INFINITY : Number(values.limit);
    if (values.limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) return usage(`--limit must be a positive integer, got ${values.limit}`);
    // The same filters as GET /admin/v1/audit, with the same messages.
    const { conditions } = await import('../admin/audit-routes.js');
    let where;
    try {
      where = conditions(filters);
    } catch (err) {
      if (err instanceof GatewayError) return usage(`--${err.message}`);
      throw err;
    }
    return await withStore(values.config, (store) => exportLines(store, where, after, limit));
  } catch (err) {
    const message = err instanceof CannotCheck || err instanceof ConfigError ? err.message : redact(err).message;
    process.stderr.write(`llm-gateway audit ${sub}: ${message}\n`);
    if (json) process.stdout.write(`${JSON.stringify({ error: message })}\n`);
    return EXIT_CANNOT_CHECK;
  }
}

function usage(message: string): number {
  process.stderr.write(`${message}\n\nUsage:\n${auditUsage}`);
  return EXIT_USAGE;
}

/** Loads the config and opens its store read-only; every reason it cannot is a CannotCheck with what to do instead. */
async function withStore(configPath: string, run: (store: ControlStore) => Promise<number>): Promise<number> {
  const config = await loadConfig(configPath);
  const database = config.state.database;
  if (!database) throw new CannotCheck(`${configPath} has no control plane (neither admin nor state.database), so there is no audit log`);
  const { openStoreReadOnly } = await import('./store/open-store.js');
  const { DataDirInUseError } = await import('./store/embedded-store.js');
  let store: ControlStore;
  try {
    const { url, ...rest } = database;
    store = await openStoreReadOnly({ ...rest, url: url?.reveal() }, () => undefined);
  } catch (err) {
    if (err instanceof DataDirInUseError) {
      throw new CannotCheck(`the embedded database in ${err.dir} is held by a running gateway (process ${err.pid}), and serves one process at a time. Check the log through that gateway instead: GET ${adminUrl(config)}/admin/v1/audit/verify (and /admin/v1/audit/export) with an admin credential`);
    }
    if (database.url === undefined && database.dataDir === ':memory:') throw new CannotCheck(`${(err as Error).message}: check the log through the running gateway: GET ${adminUrl(config)}/admin/v1/audit/verify`);
    throw new CannotCheck(redact(err).message);
  }
  try {
    return await run(store);
  } finally {
    await store.close();
  }
}

function adminUrl(config: GatewayConfig): string {
  const port = config.admin?.port ?? config.server.port;
  const host = config.admin?.port !== undefined ? config.admin.host : config.server.host;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${port}`;
}

async function verify(store: ControlStore, anchors: readonly AuditAnchor[], json: boolean): Promise<number> {
  const result = await verifyAudit(store.db, { anchors });
  if (result.ok) {
    const head = result.head;
    if (json) process.stdout.write(`${JSON.stringify({ ...result, store: store.kind })}\n`);
    else {
      process.stdout.write(`audit log verified: ${result.entries} entries (${store.kind} store)\n`);
      if (head && head.seq > 0) process.stdout.write(`head ${head.seq}:${head.hash}\n  keep this line elsewhere; \`audit verify --anchor ${head.seq}:${head.hash}\` later also detects a rewrite of the whole log\n`);
    }
    return 0;
  }
  const bad = result.firstBad;
  const [row] = bad ? await store.db.select().from(auditLog).where(eq(auditLog.seq, bad.seq)) : [];
  const entry = row ? auditEntryJson(row) : null;
  if (json) process.stdout.write(`${JSON.stringify({ ...result, store: store.kind, entry })}\n`);
  else {
    process.stdout.write(`audit log does NOT verify: first bad entry ${bad?.seq} (${bad?.problem}): ${bad?.reason}\n`);
    process.stdout.write(`${result.entries} ${result.entries === 1 ? 'entry' : 'entries'} before it verified.\n`);
    process.stdout.write(entry ? `entry ${bad?.seq} as stored: ${JSON.stringify(entry)}\n` : `entry ${bad?.seq} is not in the database.\n`);
  }
  return EXIT_BROKEN;
}

/** As the admin export: an entry can hold two 64 KiB bodies, so a page is at most ~32 MiB. */
const PAGE = 250;

/** JSON lines, oldest first, a page at a time, waiting for stdout to drain (a slow pipe bounds memory). */
async function exportLines(store: ControlStore, where: SQL[], after: number, limit: number): Promise<number> {
  let last = after;
  let written = 0;
  // A reader that goes away (\`| head\`) ends the export quietly.
  let closed = false;
  process.stdout.on('error', () => (closed = true));
  while (written < limit && !closed) {
    const want = Math.min(PAGE, limit - written);
    const rows = await store.db.select().from(auditLog).where(and(...where, gt(auditLog.seq, last))).orderBy(asc(auditLog.seq)).limit(want);
    if (rows.length === 0) break;
    const text = rows.map((r) => `${JSON.stringify(auditEntryJson(r))}\n`).join('');
    if (!process.stdout.write(text)) await once(process.stdout, 'drain').catch(() => (closed = true));
    written += rows.length;
    last = rows.at(-1)?.seq ?? last;
    if (rows.length < want) break;
  }
  return 0;
}
