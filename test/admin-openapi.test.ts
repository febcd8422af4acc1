import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRouteTable, adminRoutes } from '../src/admin/admin-api.js';
import type { AdminContext } from '../src/admin/context.js';
import { admin, startAdminHarness } from './helpers/admin.js';
import { chat, chatBody, get, type Harness } from './helpers/harness.js';

/**
 * The admin API's OpenAPI document (/admin/v1/openapi.json) against what is served: an OpenAPI
 * 3.1 document in shape, every served route in it and every documented operation answered (not
 * 404/405), and the request-body schemas refusing what the handlers refuse.
 */

type Json = any;

let h: Harness;
let doc: Json;

beforeAll(async () => {
  h = await startAdminHarness(['gpt-mini']);
  const res = await get(h.url, '/admin/v1/openapi.json', null);
  if (res.status !== 200) throw new Error(`openapi.json answered ${res.status}`);
  doc = res.json();
}, 60_000);
afterAll(() => h?.close());

const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** Every operation of the document as `METHOD /path`, with the operation object. */
function operations(d: Json): Array<{ key: string; method: string; path: string; op: Json }> {
  return Object.entries(d.paths as Record<string, Json>).flatMap(([path, item]) =>
    methods.filter((m) => item[m] !== undefined).map((m) => ({ key: `${m.toUpperCase()} ${path}`, method: m.toUpperCase(), path, op: item[m] })),
  );
}

/**
 * The shape of an OpenAPI 3.1 document (OpenAPI Specification 3.1, "Schema" section), as far as
 * this document uses it: fixed fields only, plus `x-` extensions; Schema Objects are checked
 * separately by compiling them as JSON Schema 2020-12 (below).
 */
const ext = { '^x-': {} };
const openApi31Shape = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $defs: {
    schema: { type: ['object', 'boolean'] },
    reference: { type: 'object', required: ['$ref'], properties: { $ref: { type: 'string', pattern: '^#/components/' }, summary: { type: 'string' }, description: { type: 'string' } }, additionalProperties: false },
    info: {
      type: 'object',
      required: ['title', 'version'],
      properties: { title: { type: 'string', minLength: 1 }, summary: { type: 'string' }, description: { type: 'string' }, termsOfService: { type: 'string' }, contact: { type: 'object' }, license: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } }, version: { type: 'string', minLength: 1 } },
      patternProperties: ext,
      additionalProperties: false,
    },
    server: { type: 'object', required: ['url'], properties: { url: { type: 'string' }, description: { type: 'string' }, variables: { type: 'object' } }, patternProperties: ext, additionalProperties: false },
    securityRequirement: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
    mediaType: { type: 'object', properties: { schema: { $ref: '#/$defs/schema' }, example: true, examples: { type: 'object' }, encoding: { type: 'object' } }, patternProperties: ext, additionalProperties: false },
    content: { type: 'object', propertyNames: { pattern: '^[a-z]+/[a-z0-9.+*-]+$' }, additionalProperties: { $ref: '#/$defs/mediaType' } },
    parameter: {
      type: 'object',
      required: ['name', 'in'],
      properties: {
        name: { type: 'string', minLength: 1 },
        in: { enum: ['query', 'header', 'path', 'cookie'] },
        description: { type: 'string' },
        required: { type: 'boolean' },
        deprecated: { type: 'boolean' },
        allowEmptyValue: { type: 'boolean' },
        style: { type: 'string' },
        explode: { type: 'boolean' },
        allowReserved: { type: 'boolean' },
        schema: { $ref: '#/$defs/schema' },
        example: true,
        examples: { type: 'object' },
        content: { $ref: '#/$defs/content', type: 'object', minProperties: 1, maxProperties: 1 },
      },
      // A path parameter is required (and says so); a parameter has a schema or a content, not both.
      if: { type: 'object', properties: { in: { const: 'path' } } },
      then: { type: 'object', required: ['required'], properties: { required: { const: true } } },
      oneOf: [{ required: ['schema'] }, { required: ['content'] }],
      patternProperties: ext,
      unevaluatedProperties: false,
    },
    requestBody: { type: 'object', required: ['content'], properties: { description: { type: 'string' }, content: { $ref: '#/$defs/content' }, required: { type: 'boolean' } }, patternProperties: ext, additionalProperties: false },
    response: {
      type: 'object',
      required: ['description'],
      properties: { description: { type: 'string' }, headers: { type: 'object' }, content: { $ref: '#/$defs/content' }, links: { type: 'object' } },
      patternProperties: ext,
      additionalProperties: false,
    },
    responses: {
      type: 'object',
      minProperties: 1,
      propertyNames: { pattern: '^([1-5](\\d\\d|XX)|default|x-.*)$' },
      additionalProperties: { oneOf: [{ $ref: '#/$defs/response' }, { $ref: '#/$defs/reference' }] },
    },
    operation: {
      type: 'object',
      // `responses` is optional in 3.1; this document gives every operation its responses.
      required: ['responses', 'operationId', 'summary'],
      properties: {
        tags: { type: 'array', items: { type: 'string' } },
        summary: { type: 'string', minLength: 1 },
        description: { type: 'string' },
        externalDocs: { type: 'object' },
        operationId: { type: 'string', minLength: 1 },
        parameters: { type: 'array', items: { oneOf: [{ $ref: '#/$defs/parameter' }, { $ref: '#/$defs/reference' }] } },
        requestBody: { oneOf: [{ $ref: '#/$defs/requestBody' }, { $ref: '#/$defs/reference' }] },
        responses: { $ref: '#/$defs/responses' },
        callbacks: { type: 'object' },
        deprecated: { type: 'boolean' },
        security: { type: 'array', items: { $ref: '#/$defs/securityRequirement' } },
        servers: { type: 'array', items: { $ref: '#/$defs/server' } },
      },
      patternProperties: ext,
      additionalProperties: false,
    },
    pathItem: {
      type: 'object',
      properties: {
        summary: { type: 'string' },
        description: { type: 'string' },
        servers: { type: 'array' },
        parameters: { type: 'array' },
        ...Object.fromEntries(methods.map((m) => [m, { $ref: '#/$defs/operation' }])),
      },
      patternProperties: ext,
      additionalProperties: false,
    },
    securityScheme: {
      type: 'object',
      required: ['type'],
      properties: {
        type: { enum: ['apiKey', 'http', 'mutualTLS', 'oauth2', 'openIdConnect'] },
        description: { type: 'string' },
        name: { type: 'string' },
        in: { enum: ['query', 'header', 'cookie'] },
        scheme: { type: 'string' },
        bearerFormat: { type: 'string' },
        flows: { type: 'object' },
        openIdConnectUrl: { type: 'string' },
      },
      allOf: [
        { if: { type: 'object', properties: { type: { const: 'http' } } }, then: { required: ['scheme'] } },
        { if: { type: 'object', properties: { type: { const: 'apiKey' } } }, then: { required: ['name', 'in'] } },
      ],
      patternProperties: ext,
      unevaluatedProperties: false,
    },
  },
  type: 'object',
  required: ['openapi', 'info', 'paths'],
  properties: {
    openapi: { type: 'string', pattern: '^3\\.1\\.\\d+(-.+)?$' },
    info: { $ref: '#/$defs/info' },
    jsonSchemaDialect: { type: 'string' },
    servers: { type: 'array', items: { $ref: '#/$defs/server' } },
    paths: { type: 'object', propertyNames: { pattern: '^/' }, additionalProperties: { $ref: '#/$defs/pathItem' } },
    webhooks: { type: 'object' },
    components: {
      type: 'object',
      properties: {
        schemas: { type: 'object', additionalProperties: { $ref: '#/$defs/schema' } },
        responses: { type: 'object' },
        parameters: { type: 'object' },
        requestBodies: { type: 'object' },
        securitySchemes: { type: 'object', additionalProperties: { $ref: '#/$defs/securityScheme' } },
      },
      patternProperties: ext,
      additionalProperties: false,
    },
    security: { type: 'array', items: { $ref: '#/$defs/securityRequirement' } },
    tags: { type: 'array' },
    externalDocs: { type: 'object' },
  },
  patternProperties: ext,
  additionalProperties: false,
};

/**
 * A JSON Schema 2020-12 validator, strict: an unknown keyword, a misplaced one, or a `required`
 * naming no property is an error, not a warning. `date-time` strings also carry a `pattern` in
 * this document, which is what checks them; the format itself is accepted as declared.
 */
function strictAjv(): Ajv2020 {
  return new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true, formats: { 'date-time': true } });
}

/** The validator of the document's shape: strict too, but `oneOf: [{ required: [a] }, { required: [b] }]` is an idiom it uses. */
function shapeValidator(): ReturnType<Ajv2020['compile']> {
  return new Ajv2020({ strict: true, strictRequired: false, allowUnionTypes: true, allErrors: true }).compile(openApi31Shape);
}

/** Each `#/components/schemas/X` made `urn:components:X`, registered, so a schema of the document compiles on its own. */
function schemaCompiler(d: Json): (schema: Json) => ReturnType<Ajv2020['compile']> {
  const ajv = strictAjv();
  const relink = (value: Json): Json => JSON.parse(JSON.stringify(value).replaceAll('"#/components/schemas/', '"urn:components:'));
  for (const [name, schema] of Object.entries(d.components?.schemas ?? {})) ajv.addSchema(relink(schema), `urn:components:${name}`);
  return (schema) => ajv.compile(relink(schema));
}

/** Every Schema Object of the document, with where it is. */
function schemasOf(d: Json): Array<{ where: string; schema: Json }> {
  const out: Array<{ where: string; schema: Json }> = [];
  for (const { key, op } of operations(d)) {
    for (const p of op.parameters ?? []) if (p.schema) out.push({ where: `${key} parameter ${p.name}`, schema: p.schema });
    for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) out.push({ where: `${key} request ${type}`, schema: (media as Json).schema });
    for (const [status, response] of Object.entries(op.responses ?? {})) {
      for (const [type, media] of Object.entries((response as Json).content ?? {})) out.push({ where: `${key} ${status} ${type}`, schema: (media as Json).schema });
    }
  }
  return out;
}

function pointer(d: Json, ref: string): unknown {
  return ref
    .replace(/^#\//, '')
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<Json>((node, segment) => (node !== undefined && Object.hasOwn(node, segment) ? node[segment] : undefined), d);
}

function refsOf(value: Json, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refsOf(v, out);
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) (k === '$ref' && typeof v === 'string' ? out.push(v) : refsOf(v, out));
  return out;
}

describe('the admin OpenAPI document is OpenAPI 3.1', () => {
  it('has the shape of an OpenAPI 3.1 document', () => {
    const validate = shapeValidator();
    const valid = validate(doc);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('the shape check refuses what is not OpenAPI 3.1 (the check can fail)', () => {
    const validate = shapeValidator();
    const broken = (change: (d: Json) => void): boolean => {
      const copy = structuredClone(doc);
      change(copy);
      return validate(copy) === true;
    };
    expect(broken((d) => (d.openapi = '3.0.3'))).toBe(false);
    expect(broken((d) => delete d.info.version)).toBe(false);
    expect(broken((d) => (d.paths['/admin/v1/teams'].get.responses = {}))).toBe(false);
    expect(broken((d) => (d.paths['/admin/v1/teams/{team}'].get.parameters[0].required = false))).toBe(false);
    expect(broken((d) => (d.paths['/admin/v1/teams'].get.responses['200'] = { content: {} }))).toBe(false);
    expect(broken((d) => (d.paths['/admin/v1/teams'].fetch = {}))).toBe(false);
  });

  it('every Schema Object is valid JSON Schema 2020-12 (compiles strictly), and every $ref resolves', () => {
    const compile = schemaCompiler(doc);
    const failures: string[] = [];
    const all = schemasOf(doc);
    expect(all.length).toBeGreaterThan(adminRouteTable.length);
    for (const { where, schema } of all) {
      try {
        compile(schema);
      } catch (err) {
        failures.push(`${where}: ${(err as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
    const refs = refsOf(doc);
    expect(refs.length).toBeGreaterThan(0);
    expect(refs.filter((r) => pointer(doc, r) === undefined)).toEqual([]);
  });

  it('operation ids are unique, path templates match their path parameters, security names a defined scheme', () => {
    const ops = operations(doc);
    const ids = ops.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { key, path, op } of ops) {
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const declared = (op.parameters ?? []).filter((p: Json) => p.in === 'path').map((p: Json) => p.name).sort();
      expect({ key, declared }).toEqual({ key, declared: templated });
    }
    const schemes = Object.keys(doc.components.securitySchemes);
    for (const requirement of [...doc.security, ...ops.flatMap((o) => o.op.security ?? [])]) for (const name of Object.keys(requirement)) expect(schemes).toContain(name);
  });
});

describe('the document and the served routes agree', () => {
  it('every served admin route is documented, with its permission, and nothing else is', () => {
    const served = adminRoutes({} as AdminContext).map((r) => `${r.method} ${r.path}`).sort();
    expect(operations(doc).map((o) => o.key).sort()).toEqual(served);
    for (const r of adminRouteTable) {
      const op = doc.paths[`/admin/v1${r.path}`][r.method.toLowerCase()];
      expect({ route: `${r.method} ${r.path}`, permission: op['x-permission'] ?? 'any' }).toEqual({ route: `${r.method} ${r.path}`, permission: r.action });
    }
  });

  it('every documented operation is answered (not 404 or 405): 401 without a credential, the document itself 200', async () => {
    for (const { key, method, path } of operations(doc)) {
      const concrete = path.replace(/\{[^}]+\}/g, 'sample');
      const res = await admin(h.url, method as 'GET', concrete.replace('/admin/v1', ''), undefined, null);
      const expected = path === '/admin/v1/openapi.json' ? 200 : 401;
      expect({ key, status: res.status }).toEqual({ key, status: expected });
    }
  });

  it('an undocumented path is a 404 and an undocumented method a 405 (the check above can fail)', async () => {
    const missing = await admin(h.url, 'GET', '/nothing-here', undefined, null);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
    expect((await admin(h.url, 'PUT', '/teams', {}, null)).status).toBe(405);
  });
});

describe('request-body schemas refuse what the handlers refuse', () => {
  const meta33 = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));
  const samples: ReadonlyArray<{ route: string; path: string; body: Json; valid: boolean }> = [
    { route: 'POST /teams', path: '/teams', body: { name: 'docs-sample', models: ['gpt-mini'], metadata: { owner: 'docs' } }, valid: true },
    { route: 'POST /teams', path: '/teams', body: { models: ['gpt-mini'] }, valid: false },
    { route: 'POST /teams', path: '/teams', body: { name: 'bad name!' }, valid: false },
    { route: 'POST /teams', path: '/teams', body: { name: 'empty-models', models: [] }, valid: false },
    { route: 'POST /teams', path: '/teams', body: { name: 'colour', colour: 'red' }, valid: false },
    { route: 'POST /teams', path: '/teams', body: { name: 'negative', limits: { requests: { capacity: -1, refillPerSecond: 1 } } }, valid: false },
    { route: 'POST /teams', path: '/teams', body: { name: 'labels', metadata: meta33 }, valid: false },
    { route: 'POST /teams', path: '/teams', body: { name: 'ctl', metadata: { note: 'a\u0000b' } }, valid: false },
    { route: 'PATCH /teams/{team}', path: '/teams/docs-sample', body: { limits: null, metadata: { owner: 'platform' } }, valid: true },
    { route: 'PATCH /teams/{team}', path: '/teams/docs-sample', body: { models: 'gpt-mini' }, valid: false },
    { route: 'POST /keys', path: '/keys', body: { team: 'docs-sample', name: 'ci', expiresAt: '2099-01-01T00:00:00Z' }, valid: true },
    { route: 'POST /keys', path: '/keys', body: { team: 'docs-sample', role: 'owner' }, valid: false },
    { route: 'POST /keys', path: '/keys', body: { team: 'docs-sample', expiresAt: 'tomorrow' }, valid: false },
    { route: 'POST /keys', path: '/keys', body: { team: 'docs-sample', name: '' }, valid: false },
    { route: 'POST /keys/{id}/rotate', path: '/keys/KEY/rotate', body: {}, valid: true },
    { route: 'POST /keys/{id}/rotate', path: '/keys/KEY/rotate', body: { graceMs: -1 }, valid: false },
    { route: 'POST /keys/{id}/rotate', path: '/keys/KEY/rotate', body: { graceMs: 1.5 }, valid: false },
    { route: 'POST /keys/{id}/rotate', path: '/keys/KEY/rotate', body: { graceMs: 31 * 86_400_000 }, valid: false },
    { route: 'POST /users', path: '/users', body: { subject: 'docs-person', email: 'ada@example.com' }, valid: true },
    { route: 'POST /users', path: '/users', body: { subject: '' }, valid: false },
    { route: 'POST /users', path: '/users', body: { subject: 'x', role: 'team_admin' }, valid: false },
    { route: 'PUT /teams/{team}/members/{id}', path: '/teams/docs-sample/members/USER', body: { role: 'viewer' }, valid: true },
    { route: 'PUT /teams/{team}/members/{id}', path: '/teams/docs-sample/members/USER', body: { role: 'admin' }, valid: false },
  ];
  const ids: Record<string, string> = {};

  it.each(samples)('$route $body → valid: $valid, in the document and at the handler', async ({ route, path, body, valid }) => {
    const [method, template] = route.split(' ') as [string, string];
    const schema = doc.paths[`/admin/v1${template}`][method.toLowerCase()].requestBody.content['application/json'].schema;
    const validate = schemaCompiler(doc)(schema);
    expect({ documented: validate(body) }).toEqual({ documented: valid });
    const concrete = path.replace('KEY', ids.key ?? 'none').replace('USER', ids.user ?? 'none');
    const res = await admin(h.url, method as 'POST', concrete, body);
    if (valid) {
      expect(res.status, res.text).toBeLessThan(300);
      if (route === 'POST /keys') ids.key = res.body.id;
      if (route === 'POST /users') ids.user = res.body.id;
    } else {
      expect(res.status, res.text).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
    }
  });

  it('the rotate body is optional, as documented', async () => {
    expect(doc.paths['/admin/v1/keys/{id}/rotate'].post.requestBody.required).toBe(false);
    const key = await admin(h.url, 'POST', '/keys', { team: 'docs-sample' });
    const res = await admin(h.url, 'POST', `/keys/${key.body.id}/rotate`);
    expect(res.status, res.text).toBe(200);
  });
});

describe('documented query parameters are honoured', () => {
  it('every list that documents `limit` pages by it, and refuses a bad one naming it', async () => {
    const lists = operations(doc).filter((o) => o.method === 'GET' && (o.op.parameters ?? []).some((p: Json) => p.in === 'query' && p.name === 'limit'));
    expect(lists.map((o) => o.path).sort()).toEqual(['/admin/v1/audit', '/admin/v1/audit/export', '/admin/v1/dead-letters', '/admin/v1/keys', '/admin/v1/requests', '/admin/v1/teams', '/admin/v1/users']);
    // No batch runs here, so no dead letter: that list's paging is tested in test/batches-gateway.test.ts.
    const emptyHere = new Set(['/admin/v1/dead-letters']);
    await admin(h.url, 'POST', '/users', { subject: 'paged-person' });
    // A request (refused: no key) for the request log to hold, once the writer has flushed.
    await chat(h.url, chatBody('gpt-mini'), { key: null });
    const until = Date.now() + 10_000;
    while ((await admin(h.url, 'GET', '/requests')).body.data.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    for (const { key, path } of lists) {
      const bad = await admin(h.url, 'GET', `${path.replace('/admin/v1', '')}?limit=0`);
      expect({ key, status: bad.status, param: bad.body?.error?.param }).toEqual({ key, status: 400, param: 'limit' });
      if (emptyHere.has(path)) continue;
      const page = await admin(h.url, 'GET', `${path.replace('/admin/v1', '')}?limit=1`);
      expect(page.status).toBe(200);
      const items = page.headers['content-type']?.startsWith('application/x-ndjson') ? page.text.split('\n').filter(Boolean) : page.body.data;
      expect({ key, items: items.length }).toEqual({ key, items: 1 });
    }
  });

  it('the team list pages with limit and after, config and API teams together, by name', async () => {
    for (const name of ['page-b', 'Page-C', 'page-a']) await admin(h.url, 'POST', '/teams', { name });
    const all = (await admin(h.url, 'GET', '/teams')).body;
    const names = all.data.map((t: { name: string }) => t.name);
    expect(names.length).toBeGreaterThanOrEqual(3);
    expect(all.nextCursor).toBeNull();
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < names.length + 1; i++) {
      const page: Json = (await admin(h.url, 'GET', `/teams?limit=1${after === null ? '' : `&after=${encodeURIComponent(after)}`}`)).body;
      seen.push(...page.data.map((t: { name: string }) => t.name));
      after = page.nextCursor;
      if (after === null) break;
    }
    expect(seen).toEqual(names);
  });
});
