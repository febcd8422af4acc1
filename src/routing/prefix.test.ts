import { describe, expect, it } from 'vitest';
import { MAX_PREFIX_BLOCKS, PREFIX_BLOCK_CHARS, messagesPrefixBlocks, textPrefixBlocks } from './prefix.js';

const system = 'You are a careful assistant. '.repeat(40); // 1,160 characters: 4 full blocks with the role

describe('prompt prefix blocks', () => {
  it('hashes only full blocks, each chaining everything before it', () => {
    expect(textPrefixBlocks('x'.repeat(PREFIX_BLOCK_CHARS - 1))).toEqual([]);
    const a = textPrefixBlocks('a'.repeat(PREFIX_BLOCK_CHARS * 3));
    const b = textPrefixBlocks('b' + 'a'.repeat(PREFIX_BLOCK_CHARS * 3 - 1));
    expect(a).toHaveLength(3);
    // One different first character changes every block after it.
    expect(a.every((h, i) => h !== b[i])).toBe(true);
  });

  it('gives two conversations with the same system prompt the same leading blocks, and different ones after', () => {
    const one = messagesPrefixBlocks([{ role: 'system', content: system }, { role: 'user', content: 'What is the capital of France? '.repeat(20) }]);
    const two = messagesPrefixBlocks([{ role: 'system', content: system }, { role: 'user', content: 'Summarise this contract for me. '.repeat(20) }]);
    expect(one.slice(0, 4)).toEqual(two.slice(0, 4));
    expect(one[5]).not.toBe(two[5]);
  });

  it('tells message boundaries and roles apart', () => {
    const text = 'y'.repeat(PREFIX_BLOCK_CHARS * 2);
    const asSystem = messagesPrefixBlocks([{ role: 'system', content: text }]);
    const asUser = messagesPrefixBlocks([{ role: 'user', content: text }]);
    const split = messagesPrefixBlocks([{ role: 'system', content: text.slice(0, 10) }, { role: 'system', content: text.slice(10) }]);
    expect(asSystem[0]).not.toBe(asUser[0]);
    expect(asSystem[0]).not.toBe(split[0]);
  });

  it('reads text parts and ends the comparable prefix at an image', () => {
    const withImage = (url: string) => messagesPrefixBlocks([{ role: 'user', content: [{ type: 'text', text: system }, { type: 'image_url', image_url: { url } }, { type: 'text', text: system }] }]);
    const a = withImage('data:image/png;base64,AAAA');
    const b = withImage('data:image/png;base64,BBBB');
    expect(a).toEqual(b);
    expect(a.length).toBe(Math.floor((system.length + 'user'.length + 1) / PREFIX_BLOCK_CHARS));
  });

  it('stops at MAX_PREFIX_BLOCKS however long the prompt', () => {
    const huge = 'z'.repeat(PREFIX_BLOCK_CHARS * (MAX_PREFIX_BLOCKS + 100));
    expect(textPrefixBlocks(huge)).toHaveLength(MAX_PREFIX_BLOCKS);
    const many = Array.from({ length: 10_000 }, () => ({ role: 'user', content: 'w'.repeat(100) }));
    expect(messagesPrefixBlocks(many)).toHaveLength(MAX_PREFIX_BLOCKS);
  });
});
