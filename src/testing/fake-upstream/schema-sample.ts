import { isRecord } from '../../is-record.js';

/**
 * A deterministic JSON value that satisfies a (simple) JSON Schema: what the Gemini and Ollama
 * fakes put in tool-call arguments and structured-output replies, so clients that validate
 * against the schema (the openai SDK's `parse()` with zod) accept it. Handles the schema shapes
 * SDKs generate (objects, arrays, scalars, enums, const, anyOf/oneOf, local $refs, nullable
 * types, and Gemini's upper-case OpenAPI type names); anything else yields null.
 */
export function sampleFromSchema(schema: unknown, root: unknown = schema, depth = 0): unknown {
  if (!isRecord(schema) || depth > 8) return null;
  if ('const' in schema) return schema['const'];
  if (Array.isArray(schema['enum']) && schema['enum'].length > 0) return schema['enum'][0];
  if (typeof schema['$ref'] === 'string') return sampleFromSchema(resolveRef(root, schema['$ref']), root, depth + 1);
  for (const key of ['anyOf', 'oneOf', 'allOf']) {
    const options = schema[key];
    if (Array.isArray(options) && options.length > 0) {
      const pick = options.find((o) => !(isRecord(o) && o['type'] === 'null')) ?? options[0];
      return sampleFromSchema(pick, root, depth + 1);
    }
  }
  switch (typeName(schema['type'])) {
    case 'object': {
      const props = isRecord(schema['properties']) ? schema['properties'] : {};
      const out: Record<string, unknown> = {};
      for (const [name, prop] of Object.entries(props)) out[name] = sampleFromSchema(prop, root, depth + 1);
      return out;
    }
    case 'array': {
      const min = typeof schema['minItems'] === 'number' ? schema['minItems'] : 1;
      return Array.from({ length: Math.max(1, Math.min(min, 3)) }, () => sampleFromSchema(schema['items'], root, depth + 1));
    }
    case 'string':
      return 'sample';
    case 'integer':
      return typeof schema['minimum'] === 'number' ? Math.ceil(schema['minimum']) : 1;
    case 'number':
      return typeof schema['minimum'] === 'number' ? schema['minimum'] : 1.5;
    case 'boolean':
      return true;
    default:
      return isRecord(schema['properties']) ? sampleFromSchema({ ...schema, type: 'object' }, root, depth + 1) : null;
  }
}

function typeName(type: unknown): string | undefined {
  const t = Array.isArray(type) ? type.find((x) => x !== 'null') : type;
  return typeof t === 'string' ? t.toLowerCase() : undefined;
}

function resolveRef(root: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    node = isRecord(node) ? node[key] : undefined;
  }
  return node;
}

