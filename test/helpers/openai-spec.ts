/**
 * Validation against the official OpenAI OpenAPI schemas (test/fixtures/openai-openapi/, an
 * unchanged extract of the spec). The spec is OpenAPI 3.1 (JSON Schema 2020-12) with a few
 * OpenAPI 3.0 leftovers (`nullable`, `discriminator`) and vendor keys (`x-oaiMeta`), so Ajv runs
 * non-strict; formats are annotations only here.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

const doc = JSON.parse(readFileSync(new URL('../fixtures/openai-openapi/schemas.json', import.meta.url), 'utf8')) as {
  components: { schemas: Record<string, unknown> };
};

export type SpecSchema =
  | 'CreateChatCompletionRequest'
  | 'CreateChatCompletionResponse'
  | 'CreateChatCompletionStreamResponse'
  | 'CreateEmbeddingRequest'
  | 'CreateEmbeddingResponse'
  | 'CreateCompletionRequest'
  | 'CreateCompletionResponse'
  | 'ListModelsResponse'
  | 'Model'
  | 'ErrorResponse'
  | 'CreateResponse'
  | 'Response'
  | 'ResponseStreamEvent';

/**
 * Rewrites the OpenAPI 3.0 `nullable: true` the spec still uses into JSON Schema 2020-12
 * (`type: [t, "null"]`, or `anyOf` with null where there is no `type`), which Ajv understands.
 */
function withoutNullable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutNullable);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = withoutNullable(v);
  if (out.nullable !== true) return out;
  delete out.nullable;
  // OpenAPI 3.0's nullable admits null even where an enum does not list it.
  if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  if (typeof out.type === 'string') return { ...out, type: [out.type, 'null'] };
  if (Array.isArray(out.type)) return { ...out, type: [...out.type, 'null'] };
  return { anyOf: [out, { type: 'null' }] };
}

const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema({ ...(withoutNullable(doc) as object), $id: 'openai' });
const compiled = new Map<SpecSchema, ValidateFunction>();

/** The Ajv errors of `value` against a spec schema, as readable lines; [] when it is valid. */
export function specErrors(schema: SpecSchema, value: unknown): string[] {
  let validate = compiled.get(schema);
  if (validate === undefined) {
    validate = ajv.compile({ $ref: `openai#/components/schemas/${schema}` });
    compiled.set(schema, validate);
  }
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'invalid'} ${JSON.stringify(e.params)}`);
}

/** The property names a spec schema declares, through its `allOf` and `$ref`s (e.g. every chat request parameter). */
export function specProperties(schema: SpecSchema): string[] {
  const schemas = doc.components.schemas as Record<string, { $ref?: string; allOf?: unknown[]; properties?: Record<string, unknown> }>;
  const names = new Set<string>();
  const seen = new Set<string>();
  const walk = (node: { $ref?: string; allOf?: unknown[]; properties?: Record<string, unknown> } | undefined): void => {
    if (node === undefined) return;
    if (node.$ref !== undefined) {
      const name = node.$ref.replace('#/components/schemas/', '');
      if (!seen.has(name)) {
        seen.add(name);
        walk(schemas[name]);
      }
      return;
    }
    for (const key of Object.keys(node.properties ?? {})) names.add(key);
    for (const part of node.allOf ?? []) walk(part as typeof node);
  };
  walk({ $ref: `#/components/schemas/${schema}` });
  return [...names];
}
