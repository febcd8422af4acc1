/** The Batch API's JSON objects, exactly as OpenAI's API returns them (the `openai` SDK's types). */
import type { batches, files } from '../control/store/schema.js';

type FileRow = Omit<typeof files.$inferSelect, 'content'>;
type BatchRow = typeof batches.$inferSelect;

const seconds = (d: Date): number => Math.floor(d.getTime() / 1000);
const optionalSeconds = (d: Date | null): number | undefined => (d === null ? undefined : seconds(d));

export interface FileObject {
  readonly id: string;
  readonly object: 'file';
  readonly bytes: number;
  readonly created_at: number;
  readonly filename: string;
  readonly purpose: string;
  readonly status: 'processed';
  readonly expires_at?: number;
}

/** A file: an upload is `processed` once stored (its lines were checked on the way in). */
export function fileObject(f: FileRow): FileObject {
  return {
    id: f.id,
    object: 'file',
    bytes: f.bytes,
    created_at: seconds(f.createdAt),
    filename: f.filename,
    purpose: f.purpose,
    status: 'processed',
    ...(f.expiresAt === null ? {} : { expires_at: seconds(f.expiresAt) }),
  };
}

/** A batch, with OpenAI's `request_counts` and optional timestamps (absent until they happen). */
export function batchObject(b: BatchRow): Record<string, unknown> {
  const times = {
    in_progress_at: optionalSeconds(b.inProgressAt),
    finalizing_at: optionalSeconds(b.finalizingAt),
    completed_at: optionalSeconds(b.completedAt),
    failed_at: optionalSeconds(b.failedAt),
    expired_at: optionalSeconds(b.expiredAt),
    cancelling_at: optionalSeconds(b.cancellingAt),
    cancelled_at: optionalSeconds(b.cancelledAt),
  };
  return {
    id: b.id,
    object: 'batch',
    endpoint: b.endpoint,
    errors: b.errors ?? null,
    input_file_id: b.inputFileId,
    completion_window: b.completionWindow,
    status: b.status,
    output_file_id: b.outputFileId,
    error_file_id: b.errorFileId,
    created_at: seconds(b.createdAt),
    expires_at: seconds(b.expiresAt),
    ...Object.fromEntries(Object.entries(times).map(([k, v]) => [k, v ?? null])),
    request_counts: { total: b.total, completed: b.completed, failed: b.failed },
    metadata: b.metadata ?? null,
  };
}

/** OpenAI's cursor list: `after` is the last id of the previous page. */
export function listObject<T extends { readonly id: string }>(data: readonly T[], hasMore: boolean): Record<string, unknown> {
  return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null, has_more: hasMore };
}
