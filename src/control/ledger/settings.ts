import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestLogConfig } from '../../config/schema.js';
import type { LedgerSettings } from './ledger.js';

/** The spool directory when none is configured. */
export const DEFAULT_SPOOL_DIR = './llm-gateway-spool';

/**
 * The writer's settings from `requestLog`. Without a `spoolDir`, a throw-away (`:memory:`)
 * database spools to a temporary directory of this process: its rows would outlive nothing.
 * (`:memory:` spelled out: importing embedded-store.ts would load PGlite into every gateway.)
 */
export function ledgerSettings(config: RequestLogConfig, embeddedDataDir: string | undefined): LedgerSettings {
  const temporary = config.spoolDir === undefined && embeddedDataDir === ':memory:';
  const spoolDir = config.spoolDir ?? (temporary ? join(tmpdir(), `llm-gateway-spool-${process.pid}`) : DEFAULT_SPOOL_DIR);
  return { flushMs: config.flushMs, batchRows: config.batchRows, maxBufferRows: config.maxBufferRows, spoolDir, maxSpoolBytes: config.maxSpoolBytes, retentionDays: config.retentionDays, temporarySpool: temporary };
}
