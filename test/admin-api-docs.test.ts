import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { adminRouteTable } from '../src/admin/admin-api.js';
import { openApiDocument } from '../src/admin/openapi.js';

/**
 * docs/admin-api.md cannot drift from the OpenAPI document (which is built from the served route
 * table): one `### \`METHOD /path\`` section per operation and none other, each naming the
 * operation's permission and success status, a table of exactly its body fields (with which are
 * required) and of its query parameters, and a curl example whose method, path and body the
 * document accepts.
 */
const text = readFileSync(new URL('../docs/admin-api.md', import.meta.url), 'utf8');
const doc = openApiDocument(adminRouteTable) as any;

interface Section {
  readonly key: string;
  readonly line: number;
  readonly lines: readonly string[];
}

function sections(): Section[] {
  const lines = text.split(/\r?\n/);
  const out: Section[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^### `([A-Z]+) (\/admin\/v1\/\S*)`$/.exec(lines[i] ?? '');
    if (!m) continue;
    let end = i + 1;
    while (end < lines.length && !/^##/.test(lines[end] ?? '')) end++;
    out.push({ key: `${m[1]} ${m[2]}`, line: i + 1, lines: lines.slice(i + 1, end) });
  }
  return out;
}

function cells(line: string): string[] {
  return line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());
}

/** Rows of the table whose header starts with `| first |` (backticks stripped from the first cell). */
function table(section: Section, first: string): string[][] | undefined {
  const start = section.lines.findIndex((l) => new RegExp(`^\\|\\s*${first}\\s*\\|`).test(l));
  if (start === -1) return undefined;
  const rows: string[][] = [];
  for (let j = start + 2; (section.lines[j] ?? '').startsWith('|'); j++) rows.push(cells(section.lines[j] as string));
  return rows.map(([name = '', ...rest]) => [name.replace(/^`|`$/g, ''), ...rest]);
}

function operation(key: string): any {
  const [method, path] = key.split(' ') as [string, string];
  return doc.paths[path]?.[method.toLowerCase()];
}

const operationKeys = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`));
const documented = sections();
const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, formats: { 'date-time': true } });

/** The curl command of a section, its continuation lines joined. */
function curlOf(section: Section): string | undefined {
  const start = section.lines.findIndex((l) => l.startsWith('curl '));
  if (start === -1) return undefined;
  let command = '';
  for (let j = start; j < section.lines.length; j++) {
    const line = section.lines[j] as string;
    command += `${line.replace(/\\$/, '')} `;
    if (!line.endsWith('\\')) break;
  }
  return command;
}

describe('docs/admin-api.md agrees with the OpenAPI document', () => {
  it('has one section per documented operation, and no other', () => {
    const keys = documented.map((s) => s.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect([...keys].sort()).toEqual([...operationKeys].sort());
  });

  describe.each(documented.map((s) => [s.key, s] as const))('%s', (key, section) => {
    const op = operation(key);

    it('states the permission and the success status', () => {
      const permission = section.lines.find((l) => l.startsWith('Permission: '));
      const expected = op['x-permission'] ?? (Array.isArray(op.security) && op.security.length === 0 ? 'none' : 'any');
      expect(/^Permission: `([^`]+)`/.exec(permission ?? '')?.[1], `line ${section.line}`).toBe(expected);
      const answer = section.lines.find((l) => l.startsWith('Answer: '));
      const success = Object.keys(op.responses).find((s) => s.startsWith('2'));
      expect(/^Answer: `(\d{3})`/.exec(answer ?? '')?.[1], `line ${section.line}`).toBe(success);
    });

    it('lists exactly the body fields, and which are required', () => {
      const schema = op.requestBody?.content?.['application/json']?.schema;
      const rows = table(section, 'field');
      if (schema === undefined) {
        expect(rows).toBeUndefined();
        return;
      }
      expect(rows, `a | field | table under line ${section.line}`).toBeDefined();
      const required = new Set<string>(schema.required ?? []);
      const stated = Object.fromEntries((rows ?? []).map(([name = '', , req = '']) => [name, req]));
      expect(Object.keys(stated).sort()).toEqual(Object.keys(schema.properties).sort());
      for (const [name, req] of Object.entries(stated)) expect({ name, required: req }).toEqual({ name, required: required.has(name) ? 'yes' : 'no' });
    });

    it('lists exactly the query parameters', () => {
      const params = (op.parameters ?? []).filter((p: any) => p.in === 'query').map((p: any) => p.name as string);
      const rows = table(section, 'query');
      if (params.length === 0) expect(rows).toBeUndefined();
      else expect((rows ?? []).map((r) => r[0]).sort()).toEqual([...params].sort());
    });

    it('gives a curl example the document accepts: method, path, body', () => {
      const command = curlOf(section);
      expect(command, `a curl example under line ${section.line}`).toBeDefined();
      const [method, template] = key.split(' ') as [string, string];
      expect(/-X ([A-Z]+)/.exec(command ?? '')?.[1] ?? 'GET').toBe(method);
      const url = /"\$GATEWAY(\/admin\/v1\/[^"?]*)(\?[^"]*)?"/.exec(command ?? '');
      expect(url, 'the URL is "$GATEWAY/admin/v1/…"').not.toBeNull();
      const pathPattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+').replace(/\./g, '\\.')}$`);
      expect(url?.[1]).toMatch(pathPattern);
      const queryNames = [...new URLSearchParams(url?.[2] ?? '').keys()];
      const params = (op.parameters ?? []).filter((p: any) => p.in === 'query').map((p: any) => p.name as string);
      for (const q of queryNames) expect(params).toContain(q);
      const data = /-d '([^']*)'/.exec(command ?? '')?.[1];
      const schema = op.requestBody?.content?.['application/json']?.schema;
      if (schema === undefined) {
        expect(data).toBeUndefined();
        return;
      }
      if (op.requestBody.required) expect(data, 'a body (-d) for a route that needs one').toBeDefined();
      if (data !== undefined) {
        expect(command).toContain("-H 'Content-Type: application/json'");
        const validate = ajv.compile(schema);
        const valid = validate(JSON.parse(data));
        expect(validate.errors ?? []).toEqual([]);
        expect(valid).toBe(true);
      }
      if (op['x-permission'] !== undefined || !(Array.isArray(op.security) && op.security.length === 0)) expect(command).toContain('-H "Authorization: Bearer $GATEWAY_ADMIN_KEY"');
    });
  });
});
