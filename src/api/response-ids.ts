import type { ResponseContext } from '../providers/types.js';

/**
 * The `resp_…` id a client sees for a Responses API answer, derived from our completion id (as
 * `msg_` is in messages-from-chat.ts) so logs, the stored response and the reply can be matched.
 * A native upstream's own response id is replaced by this one.
 */
export function responseIdFor(ctx: Pick<ResponseContext, 'id'>): string {
  return `resp_${ctx.id.replace(/^chatcmpl-/, '')}`;
}
