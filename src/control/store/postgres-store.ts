import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { changeChannel, type ControlStore } from './store.js';
import { schema } from './schema.js';

export interface PostgresStoreOptions {
  readonly url: string;
  /** Connections for queries (the listener has one more of its own). */
  readonly poolSize: number;
  readonly connectTimeoutMs: number;
  /** Server-side statement_timeout and the client's own query deadline. */
  readonly statementTimeoutMs: number;
  /** Every session read-only (for tools that only read, such as `llm-gateway audit verify`). */
  readonly readOnly?: boolean;
  /** Reports connection problems (never with the URL: it may hold a password). */
  readonly onError: (err: Error, where: 'pool' | 'listener') => void;
  /**
   * How often the listening connection is checked with a query (answered within connectTimeoutMs,
   * else it is replaced): a connection that died silently (a server on a machine that vanished, a
   * firewall or NAT dropping it) would otherwise go unnoticed for hours, delivering nothing.
   */
  readonly listenerCheckMs?: number;
}

const LISTEN_RETRY_MIN_MS = 250;
const LISTEN_RETRY_MAX_MS = 5_000;
const LISTENER_CHECK_MS = 5_000;

/**
 * A PostgreSQL server through node-postgres: a bounded pool for queries (every connect and query
 * has a deadline), and one dedicated connection that LISTENs for changes and reconnects with
 * backoff when it is lost.
 */
export function openPostgresStore(options: PostgresStoreOptions): ControlStore {
  const clientConfig = {
    connectionString: options.url,
    connectionTimeoutMillis: options.connectTimeoutMs,
    query_timeout: options.statementTimeoutMs + 1_000,
    statement_timeout: options.statementTimeoutMs,
    keepAlive: true,
    application_name: 'llm-gateway',
    ...(options.readOnly ? { options: '-c default_transaction_read_only=on' } : {}),
  };
  const pool = new pg.Pool({ ...clientConfig, max: options.poolSize, idleTimeoutMillis: 10_000 });
  // An idle connection that the server drops emits 'error' on the pool: unhandled, it would crash the process.
  pool.on('error', (err) => options.onError(err, 'pool'));
  // A connection checked out of the pool has no 'error' listener of the pool's (pg-pool removes
  // it): one the server drops between two statements of a transaction (a shutdown, a restart)
  // would crash the process. The transaction fails on its next statement anyway, and the pool
  // discards the connection when it is released.
  pool.on('connect', (client) => client.on('error', () => undefined));

  /**
   * A pooled connection for `fn`, always given back; one that saw a failure is discarded, not
   * reused: after a lost connection or a query that timed out (still running on a network that
   * went silent) its state is unknown.
   */
  const withClient = async <T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    let failed: Error | undefined;
    try {
      return await fn(client);
    } catch (err) {
      failed = err instanceof Error ? err : new Error(String(err));
      throw err;
    } finally {
      client.release(failed);
    }
  };

  const db = drizzle({ client: pool, schema });
  // drizzle's own transaction on a pool never gives the connection back when BEGIN fails (the
  // server just went away, or the network went silent), and reuses one whose ROLLBACK failed:
  // a few of those and the pool is empty for good. Its transactions run here instead, on a
  // connection checked out by withClient, through a drizzle bound to that one connection.
  const onConnection = new WeakMap<pg.PoolClient, NodePgDatabase<typeof schema>>();
  const poolTransaction = db.transaction.bind(db);
  db.transaction = ((fn, config) =>
    withClient((client) => {
      let bound = onConnection.get(client);
      if (!bound) {
        bound = drizzle({ client, schema });
        onConnection.set(client, bound);
      }
      return bound.transaction(fn, config);
    })) as typeof poolTransaction;

  const handlers: Array<(payload: string | null) => void> = [];
  let closed = false;
  let listener: pg.Client | undefined;
  let retryMs = LISTEN_RETRY_MIN_MS;
  let retryTimer: NodeJS.Timeout | undefined;

  const emit = (payload: string | null): void => {
    for (const h of handlers) h(payload);
  };
  const scheduleListen = (): void => {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void listen();
    }, retryMs);
    retryTimer.unref();
    retryMs = Math.min(LISTEN_RETRY_MAX_MS, retryMs * 2);
  };
  const listen = async (): Promise<void> => {
    const client = new pg.Client(clientConfig);
    listener = client;
    let lost = false;
    let checkTimer: NodeJS.Timeout | undefined;
    const onLost = (err?: Error): void => {
      if (lost) return;
      lost = true;
      clearInterval(checkTimer);
      if (err && !closed) options.onError(err, 'listener');
      client.removeAllListeners('notification');
      // With a query outstanding (a check that got no answer), end() destroys the socket.
      void client.end().catch(() => undefined);
      scheduleListen();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (n) => {
      if (n.channel === changeChannel) emit(n.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${changeChannel}`);
      if (lost || closed) return;
      retryMs = LISTEN_RETRY_MIN_MS;
      // Changes committed before LISTEN took effect were announced to no one here: after a lost
      // connection, and also the first time (the first snapshot may have been read before it).
      emit(null);
      let checking = false;
      checkTimer = setInterval(() => {
        if (checking) return;
        checking = true;
        check(client).then(
          () => (checking = false),
          (err: unknown) => onLost(err as Error),
        );
      }, options.listenerCheckMs ?? LISTENER_CHECK_MS);
      checkTimer.unref();
    } catch (err) {
      onLost(err as Error);
    }
  };
  /** One trivial query on the listening connection, answered within the connect deadline. */
  const check = async (client: pg.Client): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the listening connection did not answer within ${options.connectTimeoutMs} ms`)), options.connectTimeoutMs);
    });
    try {
      await Promise.race([client.query('SELECT 1'), deadline]);
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    kind: 'postgres',
    db,
    onChange(handler) {
      handlers.push(handler);
      if (handlers.length === 1) void listen();
    },
    transaction(fn) {
      return withClient(async (client) => {
        await client.query('BEGIN');
        try {
          const result = await fn({
            exec: async (sql) => {
              await client.query(sql);
            },
            rows: async (sql, params) => (await client.query(sql, params)).rows,
          });
          await client.query('COMMIT');
          return result;
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(retryTimer);
      await Promise.allSettled([listener?.end(), pool.end()]);
    },
  };
}
