import { eq, sql } from 'drizzle-orm';
import { files } from '../control/store/schema.js';
import type { ControlDb } from '../control/store/store.js';

/** Bytes of an uploaded file read per query: the file is never in memory whole once stored. */
export const STORED_PAGE_BYTES = 1024 * 1024;

/**
 * An uploaded file's bytes, a page at a time (`substring` on the column, so the database sends
 * only the page). Ends early if the file is deleted meanwhile.
 */
export async function* storedBytes(db: ControlDb, fileId: string, totalBytes: number, pageBytes = STORED_PAGE_BYTES): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < totalBytes; offset += pageBytes) {
    const [row] = await db
      .select({ piece: sql<Buffer | Uint8Array | null>`substring(${files.content} from ${offset + 1}::int for ${pageBytes}::int)` })
      .from(files)
      .where(eq(files.id, fileId));
    const piece = row?.piece;
    if (piece === undefined || piece === null || piece.length === 0) return;
    yield Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.length);
  }
}
