import { messagesRemoteMedia, responsesRemoteMedia } from '../api/remote-media.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { ProviderAdapter } from './types.js';

/**
 * The adapter of a deployment that refuses remote media (`allowRemoteMedia: false`): the same
 * translation, but a request carrying a URL its upstream would fetch is refused before anything
 * is sent. The refusal is the adapters' usual "cannot express this parameter", so another target
 * of the alias that allows remote media may still serve the request; if none can, the client
 * gets this 400 naming the part.
 */
export function refusingRemoteMedia(adapter: ProviderAdapter, deployment: string): ProviderAdapter {
  const refuse = (param: string): never => {
    throw new GatewayError(
      'unsupported_parameter',
      `'${param}' is a remote URL, and deployment '${deployment}' does not accept remote media (its server would fetch the URL from inside its own network). Send the content inline as a data: URL.`,
      { param },
    );
  };
  // Adapters are plain objects of functions (registry.ts), so a copy with some functions replaced is the same adapter.
  return {
    ...adapter,
    chatRequest: ((request, target) => {
      if (request.remoteMediaParam !== undefined) refuse(request.remoteMediaParam);
      return adapter.chatRequest(request, target);
    }) satisfies ProviderAdapter['chatRequest'],
    ...(adapter.messagesRequest
      ? {
          messagesRequest: ((native, target, stream, betas) => {
            const param = messagesRemoteMedia(native.messages);
            if (param !== undefined) refuse(param);
            return adapter.messagesRequest!(native, target, stream, betas);
          }) satisfies NonNullable<ProviderAdapter['messagesRequest']>,
        }
      : {}),
    ...(adapter.responsesRequest
      ? {
          responsesRequest: ((native, target, stream) => {
            const param = responsesRemoteMedia(native.input);
            if (param !== undefined) refuse(param);
            return adapter.responsesRequest!(native, target, stream);
          }) satisfies NonNullable<ProviderAdapter['responsesRequest']>,
        }
      : {}),
  };
}
