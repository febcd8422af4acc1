import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../api/chat-types.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { renderPrompt } from './request.js';

describe('renderPrompt', () => {
  it.each<{ name: string; messages: ChatMessage[]; prompt: string }>([
    { name: 'one user message', messages: [{ role: 'user', content: 'Hi' }], prompt: 'User: Hi\n\nAssistant:' },
    {
      name: 'system, user, assistant, user',
      messages: [
        { role: 'system', content: 'S' },
        { role: 'user', content: 'U1' },
        { role: 'assistant', content: 'A1' },
        { role: 'user', content: 'U2' },
      ],
      prompt: 'System: S\n\nUser: U1\n\nAssistant: A1\n\nUser: U2\n\nAssistant:',
    },
    { name: 'developer is a system message', messages: [{ role: 'developer', content: 'D' }], prompt: 'System: D\n\nAssistant:' },
    { name: 'null and missing content', messages: [{ role: 'user', content: null }, { role: 'assistant' }], prompt: 'User: \n\nAssistant: \n\nAssistant:' },
    {
      name: 'text parts are joined',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }],
      prompt: 'User: ab\n\nAssistant:',
    },
    { name: 'an empty tool_calls list is fine', messages: [{ role: 'assistant', content: 'x', tool_calls: [] }], prompt: 'Assistant: x\n\nAssistant:' },
    { name: 'multi-line content is kept', messages: [{ role: 'user', content: 'line 1\nline 2' }], prompt: 'User: line 1\nline 2\n\nAssistant:' },
  ])('$name', ({ messages, prompt }) => {
    expect(renderPrompt(messages)).toBe(prompt);
  });

  it.each<{ name: string; messages: ChatMessage[]; param: string }>([
    { name: 'tool role', messages: [{ role: 'user', content: 'q' }, { role: 'tool', content: 'r', tool_call_id: 'c' }], param: 'messages[1].role' },
    { name: 'function role', messages: [{ role: 'function', content: 'r', name: 'f' }], param: 'messages[0].role' },
    {
      name: 'tool calls',
      messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }],
      param: 'messages[0].tool_calls',
    },
    {
      name: 'image part',
      messages: [{ role: 'user', content: 'a' }, { role: 'user', content: [{ type: 'text', text: 'x' }, { type: 'image_url', image_url: { url: 'u' } }] }],
      param: 'messages[1].content[1]',
    },
  ])('refuses $name with param $param', ({ messages, param }) => {
    let error: unknown;
    try {
      renderPrompt(messages);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).code).toBe('unsupported_parameter');
    expect((error as GatewayError).param).toBe(param);
  });
});
