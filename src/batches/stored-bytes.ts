import { eq, sql, type SQL } from 'drizzle-orm';
import { files } from '../control/store/schema.js';
import type { ControlDb } from '../control/store/store.js';

/**
 * Bytes of an uploaded file read per query: the file is never in memory whole once stored, and
 * on the embedded database (which runs each query on the event loop) one read holds the loop
 * for tens of milliseconds at most (bench/micro/validate-batch.mjs).
 */
export const STORED_PAGE_BYTES = 256 * 1024;

/**
 * Bytes cross the driver as base64 text (`encode`/`decode` in SQL, Buffer's native codec here):
 * the embedded driver's bytea parameters and results are converted byte by byte in JavaScript,
 * about 1 µs a byte (a 4 MiB upload held the event loop 4.3 s; as base64, 0.2 s).
 */
export function bytesParam(content: Buffer): SQL {
  return sql`decode(${content.toString('base64')}, 'base64')`;
}

/**
 * An uploaded file's bytes, a page at a time (`substring` on the column, so the database sends
 * only the page). Ends early if the file is deleted meanwhile.
 */
export async function* storedBytes(db: ControlDb, fileId: string, totalBytes: number, pageBytes = STORED_PAGE_BYTES): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < totalBytes; offset += pageBytes) {
    const [row] = await db
      .select({ piece: sql<string | null>`encode(substring(${files.content} from ${offset + 1}::int for ${pageBytes}::int), 'base64')` })
      .from(files)
      .where(eq(files.id, fileId));
    const piece = row?.piece;
    if (piece === undefined || piece === null || piece.length === 0) return;
    yield Buffer.from(piece, 'base64');
  }
}
