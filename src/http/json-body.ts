import sjson from 'secure-json-parse';
import { GatewayError } from '../errors/gateway-error.js';

/** 413 for a body over the limit; the same words wherever it is refused. */
export function bodyTooLarge(limitBytes: number): GatewayError {
  return new GatewayError('request_too_large', `The request body is larger than ${limitBytes} bytes.`);
}

/** 400 for a body that is not declared as JSON. */
export function notJsonMediaType(): GatewayError {
  return new GatewayError('unsupported_media_type', 'Send the request body as JSON with "Content-Type: application/json".');
}

/** Deepest nesting a request body may have; deeper bodies are refused before parsing, so no code that walks a body recursively meets hostile depth. */
export const maxJsonDepth = 64;

/**
 * Most keys one object of a request body may have. No API object needs more (the widest are
 * tool schemas' `properties`); past it, every later step that copies the body (validation, the
 * pass-through to OpenAI-protocol upstreams) pays per key: 880k top-level keys in 10 MB stalled
 * the event loop for 2.7 s (issue 9 §2).
 */
export const maxJsonObjectKeys = 10_000;

/**
 * Parses a request body once at the edge. Refuses deep nesting before JSON.parse sees it (so no
 * recursion in later code can overflow), objects wider than maxJsonObjectKeys, and `__proto__` / `constructor.prototype` keys (S-04).
 */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) throw new GatewayError('invalid_json', 'The request body is empty; send a JSON object.');
  if (exceedsDepth(text, maxJsonDepth)) {
    throw new GatewayError('invalid_json', `The request body is nested deeper than ${maxJsonDepth} levels.`);
  }
  if (hasObjectWiderThan(text, maxJsonObjectKeys)) {
    throw new GatewayError('invalid_json', `An object in the request body has more than ${maxJsonObjectKeys} keys.`);
  }
  try {
    return sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    const detail = err instanceof SyntaxError ? err.message : 'forbidden key such as __proto__';
    throw new GatewayError('invalid_json', `The request body is not valid JSON (${detail}).`);
  }
}

/** True when brackets outside strings nest deeper than `max`. Linear, no recursion. */
export function exceedsDepth(text: string, max: number): boolean {
  // Nesting deeper than `max` needs more than `max` opening brackets: most bodies have a handful,
  // and counting them with indexOf is far cheaper than walking every character below.
  if (openingBrackets(text, max) <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 123 || c === 91) {
      if (++depth > max) return true;
    } else if (c === 125 || c === 93) {
      depth--;
    }
  }
  return false;
}

/** Opening brackets in `text` (inside strings too), counted up to `max + 1`. */
function openingBrackets(text: string, max: number): number {
  return countUpTo(text, '[', max + 1) + countUpTo(text, '{', max + 1);
}

function countUpTo(text: string, char: string, limit: number): number {
  let n = 0;
  for (let i = text.indexOf(char); i !== -1 && n < limit; i = text.indexOf(char, i + 1)) n++;
  return n;
}

/**
 * True when one object in `text` has more than `max` keys (colons outside strings at its own
 * level). Linear; called after the depth check, so the per-level counters stay few.
 */
function hasObjectWiderThan(text: string, max: number): boolean {
  // An object with more than `max` keys needs more than `max` colons in the text.
  if (countUpTo(text, ':', max + 1) <= max) return false;
  const keys: number[] = [];
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 123 || c === 91) {
      keys.push(0);
    } else if (c === 125 || c === 93) {
      keys.pop();
    } else if (c === 58 && keys.length > 0) {
      const n = (keys[keys.length - 1] ?? 0) + 1;
      if (n > max) return true;
      keys[keys.length - 1] = n;
    }
  }
  return false;
}
