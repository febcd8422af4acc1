import { describe, expect, it } from 'vitest';
import { RouteTable, surfaces, type Route } from './routes.js';

const noop = (): void => {};
const row = (method: Route['method'], path: string): Route => ({ method, path, surface: surfaces.openai, handler: noop });

describe('RouteTable', () => {
  const table = new RouteTable([row('GET', '/a'), row('POST', '/a'), row('GET', '/v1/models/{model}'), row('DELETE', '/v1/files/{id}/content')]);

  it('groups methods by path and derives Allow in table order', () => {
    const m = table.match('/a');
    expect(m?.entry.allow).toBe('GET, POST');
    expect(m?.entry.byMethod.get('POST')?.method).toBe('POST');
  });

  it('matches {name} segments and decodes them; a segment never spans a slash', () => {
    expect(table.match('/v1/models/gpt%2F4')?.params).toEqual(['gpt/4']);
    expect(table.match('/v1/files/f1/content')?.params).toEqual(['f1']);
    expect(table.match('/v1/models/a/b')).toBeUndefined();
    expect(table.match('/v1/models/')).toBeUndefined();
    expect(table.match('/v1/models/%E0%A4%A')).toBeUndefined();
  });

  it('unknown paths match nothing; the 404 lists the table paths', () => {
    expect(table.match('/b')).toBeUndefined();
    expect(table.paths).toEqual(['/a', '/v1/models/{model}', '/v1/files/{id}/content']);
  });

  it('a path ending in /* matches everything under its prefix, the rest still encoded, after exact paths and patterns', () => {
    const ui = new RouteTable([row('GET', '/ui'), row('GET', '/ui/*'), row('GET', '/ui/x/{id}')]);
    expect(ui.match('/ui')?.entry.path).toBe('/ui');
    expect(ui.match('/ui/')?.params).toEqual(['']);
    expect(ui.match('/ui/assets/a%2Fb.js')?.params).toEqual(['assets/a%2Fb.js']);
    expect(ui.match('/ui/x/7')?.entry.path).toBe('/ui/x/{id}');
    expect(ui.match('/uix')).toBeUndefined();
  });

  it('a duplicate method and path is a programming error', () => {
    expect(() => new RouteTable([row('GET', '/a'), row('GET', '/a')])).toThrow(/duplicate route GET \/a/);
  });
});
