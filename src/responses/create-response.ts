/**
 * `POST /v1/responses` with conversation state: the caller is authenticated once, a
 * `previous_response_id` is expanded from the caller's team's stored turns, the request runs
 * through the pipeline like any other, and with `store: true` (the default) its finished
 * response is stored before the client receives it (storing-reply.ts).
 */
import type { ResponseItem, ResponseObject, ResponsesApiRequest } from '../api/responses-types.js';
import { requestCaps } from '../api/parse-common.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { RequestScope } from '../http/request-scope.js';
import { callerOf, plausibleId } from '../http/team-routes.js';
import { responsesOperation } from '../pipeline/operations.js';
import { responsesCountWith } from '../api/count-tokens/responses-count.js';
import { perProcessNote, withStore, type ResponsesApiDeps } from './api-context.js';
import type { ChainSize, NewTurn } from './response-store.js';
import { StoringReply } from './storing-reply.js';

/** Turns one continuation may expand: as many as the items one request may carry (a turn has at least its input, usually). */
const MAX_TURNS = requestCaps.maxMessages;

export async function createResponse(deps: ResponsesApiDeps, scope: RequestScope): Promise<void> {
  const caller = await callerOf(scope);
  const body = scope.body as Readonly<Record<string, unknown>> | null | undefined;
  // Only a string is looked up; anything else is left to the parser, which refuses it by name.
  const previousId = typeof body?.previous_response_id === 'string' ? body.previous_response_id : undefined;
  const prior = previousId === undefined ? undefined : await conversationOf(deps, caller.team, previousId);
  const op = responsesOperation(prior?.items);
  if (body?.store === false) {
    await scope.runOperation(op, { principal: caller.principal });
    return;
  }
  // The parsed request (its input items, normalised) is kept from the pipeline's one parse.
  let parsed: ResponsesApiRequest | undefined;
  const capturing: typeof op = { ...op, parse: (raw, headers) => (parsed = op.parse(raw, headers)) };
  const save = (response: ResponseObject): Promise<boolean> =>
    saveWithin(deps, scope.requestId, {
      id: response.id,
      team: caller.team,
      createdBy: caller.createdBy,
      model: response.model,
      previousResponseId: previousId,
      inputItems: parsed?.inputItems ?? [],
      response,
      chain: prior?.size,
    });
  await scope.runOperation(capturing, { principal: caller.principal, reply: new StoringReply(scope, save, () => scope.res.destroyed) });
}

/**
 * `POST /v1/responses/input_tokens`: a `previous_response_id` is expanded from the caller's
 * team's stored turns, as for a create, and the whole conversation is counted.
 */
export async function countInputTokens(deps: ResponsesApiDeps, scope: RequestScope): Promise<void> {
  const caller = await callerOf(scope);
  const body = scope.body as Readonly<Record<string, unknown>> | null | undefined;
  const previousId = typeof body?.previous_response_id === 'string' ? body.previous_response_id : undefined;
  const prior = previousId === undefined ? undefined : await conversationOf(deps, caller.team, previousId);
  await scope.runCount(responsesCountWith(prior?.items), { principal: caller.principal });
}

/** The stored conversation `id` continues (the caller's team's), or the 400 OpenAI gives. */
async function conversationOf(deps: ResponsesApiDeps, team: string, id: string): Promise<{ items: readonly ResponseItem[]; size: ChainSize }> {
  const notFound = (message: string): GatewayError => new GatewayError('previous_response_not_found', message, { param: 'previous_response_id' });
  if (!plausibleId(id)) throw notFound('Previous response with id (invalid id) not found.');
  // What the expanded request may carry: no more items than one request may hold, no more bytes than one body.
  const limits = { maxTurns: MAX_TURNS, maxItems: requestCaps.maxMessages, maxBytes: deps.settings.bodyLimitBytes };
  const loaded = await withStore(() => deps.store.conversation(team, id, limits));
  switch (loaded.kind) {
    case 'found':
      return loaded;
    case 'missing':
      throw notFound(loaded.earlier ? `Previous response with id '${id}' cannot be continued: an earlier response of its conversation was deleted or has expired.` : `Previous response with id '${id}' not found.${perProcessNote(deps)}`);
    case 'too_large':
      throw new GatewayError(
        'invalid_request',
        `The conversation of previous_response_id '${id}' is too long to continue (${loaded.size.turns} turns, ${loaded.size.items} items, ${loaded.size.bytes} bytes; at most ${limits.maxTurns} turns, ${limits.maxItems} items and ${limits.maxBytes} bytes). Start a new conversation with the items you need.`,
        { param: 'previous_response_id' },
      );
  }
}

/**
 * Stores a turn within `responses.saveTimeoutMs`; never throws: a failure is logged and counted,
 * and the answer goes out unstored. After a failure, saves are skipped for a while (SaveBreaker).
 */
async function saveWithin(deps: ResponsesApiDeps, requestId: string, turn: NewTurn): Promise<boolean> {
  // A store that just failed is not waited for again at once (save-breaker.ts): counted, not logged each time.
  if (!deps.saveBreaker.tryNow()) {
    deps.metrics.responseStored('failed');
    return false;
  }
  const timeoutMs = deps.settings.responses.saveTimeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`storing took longer than responses.saveTimeoutMs (${timeoutMs} ms)`)), timeoutMs);
  });
  const saving = deps.store.save(turn);
  // A save that loses the race may still fail later: that is not an unhandled rejection.
  saving.catch(() => undefined);
  try {
    await Promise.race([saving, late]);
    deps.saveBreaker.succeeded();
    deps.metrics.responseStored('stored');
    return true;
  } catch (err) {
    deps.saveBreaker.failed();
    deps.metrics.responseStored('failed');
    // The message only: a driver error wrapped by drizzle quotes the query's parameters (the conversation).
    const reason = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message.split('\n')[0]) : String(err);
    deps.logger.warn({ requestId, responseId: turn.id, team: turn.team, reason }, 'responses: storing a response failed; the answer was sent unstored');
    return false;
  } finally {
    clearTimeout(timer);
  }
}
