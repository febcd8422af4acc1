/** Abort reasons for a request's signal, so every layer can tell why work was stopped. */

/** The client closed the connection before the response was complete. */
export class ClientGoneError extends Error {
  constructor() {
    super('client disconnected');
    this.name = 'ClientGoneError';
  }
}

/** The request's overall deadline (`timeouts.totalMs`) passed. */
export class DeadlineExceededError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`request deadline of ${timeoutMs} ms exceeded`);
    this.name = 'DeadlineExceededError';
  }
}

/** The gateway is shutting down and its grace period ended before this request did. */
export class ShuttingDownError extends Error {
  constructor() {
    super('the gateway is shutting down');
    this.name = 'ShuttingDownError';
  }
}
