import { setMaxListeners } from 'node:events';

/**
 * The controller an engine aborts its running items with at shutdown. Every running item listens
 * to its signal (up to `batches.concurrency` at once), so Node's default of 10 listeners would
 * warn of a leak that is not one.
 */
export function stopController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}
