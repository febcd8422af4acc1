import { z } from 'zod';
import { errorCatalog } from '../errors/catalog.js';
import { version } from '../version.js';
import type { AdminRoute } from './context.js';

/**
 * The OpenAPI 3.1 document of the admin API, built from the route table and the same zod
 * schemas that validate the bodies: what is documented is what runs (a test checks both ways).
 */
export function openApiDocument(routes: readonly AdminRoute[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = `/admin/v1${r.path}`;
    const params = [...r.path.matchAll(/\{([^}]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const query = Object.entries(r.query ?? {}).map(([name, description]) => ({ name, in: 'query', required: false, description, schema: { type: 'string' } }));
    const operation: Record<string, unknown> = {
      operationId: `${r.method.toLowerCase()}${r.path.replace(/\{([^}]+)\}/g, 'By-$1').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      summary: r.summary,
      ...(r.action !== 'any' ? { 'x-permission': r.action } : {}),
      ...(params.length + query.length > 0 ? { parameters: [...params, ...query] } : {}),
      ...(r.body ? { requestBody: { required: r.method !== 'POST' || !r.path.endsWith('/rotate'), content: { 'application/json': { schema: jsonSchema(r.body, 'input') } } } } : {}),
      responses: {
        [String(r.status)]: {
          description: 'OK',
          content: responseContent(r),
        },
        ...errorResponses(),
        ...(r.response === 'event-stream' ? { '429': { description: 'As many live streams as allowed are open already (16 per process)', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } } } : {}),
      },
    };
    (paths[path] ??= {})[r.method.toLowerCase()] = operation;
  }
  paths['/admin/v1/openapi.json'] = { get: { operationId: 'getOpenApi', summary: 'This document', security: [], responses: { '200': { description: 'OK', content: { 'application/json': { schema: { type: 'object' } } } } } } };
  return {
    openapi: '3.1.0',
    info: { title: 'llm-gateway admin API', version, description: 'Teams, API keys, people and roles, and the audit log. Permissions: docs/access-control.md.' },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'The bootstrap admin key, an API key with a role, or a JWT from the identity provider.' } },
      schemas: { Error: errorSchema },
    },
    paths,
  };
}

/** The success answer's media types: JSON (and CSV when the route offers it), JSON lines, or server-sent events. */
function responseContent(r: AdminRoute): Record<string, unknown> {
  if (r.response === 'ndjson') return { 'application/x-ndjson': { schema: { type: 'string' } } };
  if (r.response === 'event-stream') return { 'text/event-stream': { schema: { type: 'string', description: 'Server-sent events: `retry`, one `history` event, then a `tick` event a second and a `: ping` comment every 15 s (docs/admin-api.md).' } } };
  return {
    'application/json': { schema: jsonSchema(r.response, 'output') },
    ...(r.csv ? { 'text/csv': { schema: { type: 'string', description: 'The same rows as CSV with a header row (`format=csv` or `Accept: text/csv`).' } } } : {}),
  };
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): unknown {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['message', 'type', 'param', 'code'],
      properties: { message: { type: 'string' }, type: { type: 'string' }, param: { type: ['string', 'null'] }, code: { type: 'string', enum: Object.keys(errorCatalog) } },
    },
  },
};

function errorResponses(): Record<string, unknown> {
  const ref = { content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  return {
    '400': { description: 'Invalid input: the message names each invalid field by path', ...ref },
    '401': { description: 'No credential, or one that is unknown, expired or refused', ...ref },
    '403': { description: 'The role does not allow this action (permission_denied)', ...ref },
    '404': { description: 'No such resource', ...ref },
    '409': { description: 'Exists already, or defined in the config file (read-only)', ...ref },
    '503': { description: 'The control-plane database cannot be reached (control_plane_unavailable)', ...ref },
  };
}
