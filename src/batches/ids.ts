import { randomBytes } from 'node:crypto';

/** `file-` and 24 random hex characters (OpenAI's ids look alike; clients treat them as opaque). */
export function newFileId(): string {
  return `file-${randomBytes(12).toString('hex')}`;
}

/** `batch_` and 24 random hex characters. */
export function newBatchId(): string {
  return `batch_${randomBytes(12).toString('hex')}`;
}

/** The `id` of one line of a batch's output or error file: stable for (batch, line), so a re-read file is the same. */
export function batchRequestId(batchId: string, line: number): string {
  return `batch_req_${batchId.slice('batch_'.length)}_${line}`;
}
