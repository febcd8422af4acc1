/**
 * PostgreSQL for tests. Tests use the machine's server at 127.0.0.1:5432 (trust auth), each file
 * in a database of its own (created here, dropped at the end) so files run in parallel; they skip
 * (with a message) when it is unreachable, except under CI=true, where they must run and fail.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const SHARED_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

export async function sharedPostgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: SHARED_POSTGRES_URL, connectionTimeoutMillis: 1_000 });
  let ok = false;
  try {
    await client.connect();
    ok = (await client.query('SELECT 1 AS one')).rows[0]?.one === 1;
  } catch {
    ok = false;
  } finally {
    await client.end().catch(() => undefined);
  }
  if (!ok && process.env.CI === 'true') throw new Error(`CI=true but no PostgreSQL answers at ${SHARED_POSTGRES_URL}`);
  if (!ok) console.warn(`[postgres tests] skipped: no PostgreSQL at ${SHARED_POSTGRES_URL} (start one, or run with CI=true to make this a failure)`);
  return ok;
}

/** A new empty database on the shared server; `drop()` removes it (closing any connection left). */
export async function createTestDatabase(label: string, baseUrl = SHARED_POSTGRES_URL): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `llmgw_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  await admin(baseUrl, `CREATE DATABASE ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), name, drop: () => admin(baseUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
