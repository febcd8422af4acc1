// The errors entry alone: the package's index loads all of drizzle, which a gateway without a
// control plane (that imports this file for its routes' error mapping) never needs.
import { DrizzleQueryError } from 'drizzle-orm/errors';

/** SQLSTATE classes of a lost or refused connection, an admin shutdown, and a cancelled (timed-out) statement. */
const unavailableStates = /^(08|57P0|57014|53)/;
const unavailableCodes = /^E(CONNREFUSED|CONNRESET|PIPE|TIMEDOUT|HOSTUNREACH|NETUNREACH|AI_AGAIN)$/;
const unavailableMessages = /Connection terminated|timeout exceeded|Query read timeout|connection is closed|Client has encountered a connection error/i;

/** The driver's error under drizzle's wrapper (whose message quotes the query's parameters). */
export function driverError(err: unknown): { code: string; message: string } {
  const e = (err instanceof DrizzleQueryError ? err.cause : err) as { code?: unknown; message?: unknown } | undefined;
  return { code: typeof e?.code === 'string' ? e.code : '', message: typeof e?.message === 'string' ? e.message : '' };
}

/** SQLSTATE class 40: the transaction was rolled back (a deadlock, a serialization failure); trying again is right. */
export function isTransientConflict(err: unknown): boolean {
  return driverError(err).code.startsWith('40');
}

/**
 * Whether a store call failed because the database cannot be reached (refused, reset, timed
 * out, shutting down): worth retrying later. Anything else is a bug or bad data.
 */
export function isStoreUnavailable(err: unknown): boolean {
  const { code, message } = driverError(err);
  return unavailableStates.test(code) || unavailableCodes.test(code) || unavailableMessages.test(message);
}
