/**
 * The content of a batch's output and error files, built from its items when read (an item's
 * result lives in one place only), in input-line order, a page of items at a time: the file is
 * never in memory whole, and the next page is read only once the client took the last one.
 */
import { and, asc, eq, gt, inArray } from 'drizzle-orm';
import { batchItems, type BatchItemState } from '../control/store/schema.js';
import type { ControlDb } from '../control/store/store.js';
import { batchRequestId } from './ids.js';
import { storedBytes } from './stored-bytes.js';

/**
 * Items read per query at most; fewer when answers are large, so a page stays near
 * PAGE_TARGET_CHARS (an embeddings answer can be hundreds of kilobytes).
 */
const PAGE_ITEMS = 100;
const PAGE_TARGET_CHARS = 1024 * 1024;

/** Succeeded items are the output file; everything that ended otherwise is the error file. */
const statesOf: Record<'batch_output' | 'batch_error', BatchItemState[]> = {
  batch_output: ['succeeded'],
  batch_error: ['failed', 'cancelled', 'expired'],
};

interface ItemResultRow {
  readonly line: number;
  readonly customId: string;
  readonly statusCode: number | null;
  readonly requestId: string | null;
  readonly response: unknown;
  readonly error: unknown;
}

/**
 * One line of an output or error file, as OpenAI writes it: the endpoint's answer under
 * `response` (a failure's status and the gateway's error body too), or, for an item that never
 * got an answer (cancelled, expired), `response: null` and the `error`.
 */
export function resultLine(batchId: string, item: ItemResultRow): string {
  const id = batchRequestId(batchId, item.line);
  if (item.statusCode !== null) {
    return JSON.stringify({ id, custom_id: item.customId, response: { status_code: item.statusCode, request_id: item.requestId, body: item.response }, error: null });
  }
  return JSON.stringify({ id, custom_id: item.customId, response: null, error: item.error ?? { code: 'batch_failed', message: 'The request failed.' } });
}

/** The lines of a batch's output or error file, in pieces of up to PAGE_ITEMS lines. */
export async function* builtFileContent(db: ControlDb, batchId: string, purpose: 'batch_output' | 'batch_error'): AsyncGenerator<string> {
  let after = -1;
  let pageItems = PAGE_ITEMS;
  for (;;) {
    const page = await db
      .select({ line: batchItems.line, customId: batchItems.customId, statusCode: batchItems.statusCode, requestId: batchItems.requestId, response: batchItems.response, error: batchItems.error })
      .from(batchItems)
      .where(and(eq(batchItems.batchId, batchId), gt(batchItems.line, after), inArray(batchItems.state, statesOf[purpose])))
      .orderBy(asc(batchItems.line))
      .limit(pageItems);
    if (page.length === 0) return;
    let piece = '';
    for (const item of page) piece += `${resultLine(batchId, item)}\n`;
    yield piece;
    if (page.length < pageItems) return;
    after = page[page.length - 1]!.line;
    pageItems = Math.max(1, Math.min(PAGE_ITEMS, Math.floor((pageItems * PAGE_TARGET_CHARS) / piece.length)));
  }
}

/** An uploaded file's bytes as text pieces (the upload was checked to be UTF-8 lines on the way in). */
export async function* uploadedFileContent(db: ControlDb, fileId: string, bytes: number): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  for await (const piece of storedBytes(db, fileId, bytes)) {
    const text = decoder.decode(piece, { stream: true });
    if (text !== '') yield text;
  }
  const rest = decoder.decode();
  if (rest !== '') yield rest;
}
