import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dataPlaneRoutes } from '../src/http/gateway-routes.js';
import { surfaces } from '../src/http/routes.js';

/**
 * README.md's endpoint table is the route table: the same method and path pairs (with /metrics
 * served on the data plane, as by default), and an auth column that says what each route's API
 * surface accepts: "none" for probes and scrapes, `x-api-key` where it is accepted beside the
 * bearer key.
 */
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

function endpointRows(): Array<{ route: string; auth: string }> {
  const lines = readme.split(/\r?\n/);
  const at = lines.findIndex((l) => /^\|\s*method and path\s*\|\s*auth\s*\|/.test(l));
  if (at === -1) throw new Error('README.md has no "| method and path | auth |" table');
  const rows: Array<{ route: string; auth: string }> = [];
  for (let i = at + 2; (lines[i] ?? '').startsWith('|'); i++) {
    const [route = '', auth = ''] = (lines[i] ?? '').slice(1).split('|').map((c) => c.trim());
    rows.push({ route: route.replace(/^`(.*)`$/, '$1'), auth });
  }
  return rows;
}

describe('README.md endpoints', () => {
  const rows = endpointRows();
  const routes = dataPlaneRoutes({ metrics: true });

  it('lists exactly the routes of the data-plane route table', () => {
    expect(rows.map((r) => r.route).sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
  });

  it.each(routes.map((r) => [`${r.method} ${r.path}`, r] as const))('%s: the auth column matches its API surface', (name, route) => {
    const auth = rows.find((r) => r.route === name)?.auth ?? '';
    const operator = route.surface === surfaces.operator;
    expect({ none: auth.startsWith('none'), xApiKey: auth.includes('x-api-key') }).toEqual({ none: operator, xApiKey: route.surface.acceptsXApiKey });
  });
});
