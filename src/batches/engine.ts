/**
 * What runs batches: validates a created batch into its items, then runs each item through the
 * request pipeline at low priority, durably (a replica that dies mid-item gives it back). Two
 * engines share the job records in `batch_items`: in-process on the embedded database, and on
 * Redis with BullMQ so every replica works the same batches (docs/batches.md says why).
 */
export interface BatchEngine {
  /** A batch was created (status `validating`): validate it and run its items. Resolves once it is durably queued. */
  submit(batchId: string): Promise<void>;
  /** An item was put back on the queue (a dead letter replayed): run it again. */
  requeue(batchId: string, line: number): Promise<void>;
  /** Starts working (after the store is open). */
  start(): void;
  /** Stops taking items and waits, bounded, for the running ones; their claims lapse otherwise. */
  close(): Promise<void>;
}
