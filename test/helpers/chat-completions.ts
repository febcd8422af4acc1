/**
 * Chat completion bodies a fake upstream answers with when a test needs one exact reply (the
 * shape recorded from gpt-4o), for tests of what a client SDK makes of it through the gateway.
 */

/** A chat completion whose message is one call of `get_weather` with `args`. */
export function toolCallCompletion(args = '{"city":"Paris"}'): Record<string, any> {
  return {
    id: 'chatcmpl-tool-1',
    object: 'chat.completion',
    created: 1_741_569_952,
    model: 'gpt-4o-2024-08-06',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: null, refusal: null, tool_calls: [{ id: 'call_abc123', type: 'function', function: { name: 'get_weather', arguments: args } }] },
        logprobs: null,
        finish_reason: 'tool_calls',
      },
    ],
    usage: { prompt_tokens: 50, completion_tokens: 15, total_tokens: 65 },
  };
}

/** The same completion answering with text (`content`) instead. */
export function contentCompletion(content: string): Record<string, any> {
  return { ...toolCallCompletion(), choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' }] };
}
