import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { actions, authorize, type Action, type Actor } from '../src/admin/access.js';
import type { KeyRole } from '../src/control/snapshot.js';

/**
 * The permission matrix in docs/access-control.md is `authorize` (src/admin/access.ts): for every
 * role (a column) and every action (a row) the cell says what authorize answers, on the role's own
 * team T, on another team U and on no team:
 * `all` = allowed on T, on U and on no team; `T` = on T only; `—` = nowhere. Anything else authorize
 * could answer (on U but not T, say) has no cell and fails.
 */
const doc = readFileSync(new URL('../docs/access-control.md', import.meta.url), 'utf8');

const actorFor = (globalRole: Actor['globalRole'], teamRole?: KeyRole): Actor => ({
  audit: { id: 'test', type: 'user' },
  globalRole,
  teamRoles: new Map(teamRole === undefined ? [] : [['T', teamRole]]),
});

/** The columns of the matrix, by header, and the actor each stands for. */
const columns: Readonly<Record<string, Actor>> = {
  '`admin`': actorFor('admin'),
  '`viewer`': actorFor('viewer'),
  '`team_admin` of T': actorFor(undefined, 'team_admin'),
  '`viewer` of T': actorFor(undefined, 'viewer'),
  '`member` of T': actorFor(undefined, 'member'),
};

function cells(line: string): string[] {
  return line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());
}

/** The matrix: header cells and one row per action, under "## The permission matrix". */
function matrix(): { header: string[]; rows: Array<{ action: string; cells: string[]; line: number }> } {
  const lines = doc.split(/\r?\n/);
  const start = lines.findIndex((l) => l === '## The permission matrix');
  if (start === -1) throw new Error('docs/access-control.md has no "## The permission matrix" section');
  const at = lines.findIndex((l, i) => i > start && /^\|\s*action\s*\|/.test(l));
  if (at === -1) throw new Error('no | action | table under "## The permission matrix"');
  const header = cells(lines[at] as string);
  const rows: Array<{ action: string; cells: string[]; line: number }> = [];
  for (let i = at + 2; (lines[i] ?? '').startsWith('|'); i++) {
    const row = cells(lines[i] as string);
    const action = /^`([a-z.]+)`$/.exec(row[0] ?? '')?.[1];
    if (action === undefined) throw new Error(`docs/access-control.md line ${i + 1}: the action cell is not an action in backticks`);
    rows.push({ action, cells: row, line: i + 1 });
  }
  return { header, rows };
}

/** What authorize answers, as a cell. */
function cellOf(actor: Actor, action: Action): string {
  const own = authorize(actor, action, { team: 'T' });
  const other = authorize(actor, action, { team: 'U' });
  const none = authorize(actor, action, {});
  if (own && other && none) return 'all';
  if (own && !other && !none) return 'T';
  if (!own && !other && !none) return '—';
  return `(no cell for: T ${own}, U ${other}, no team ${none})`;
}

describe('the permission matrix in docs/access-control.md is authorize', () => {
  const { header, rows } = matrix();
  const roleColumns = header.slice(2);

  it('has a column for each role and nothing else', () => {
    expect(header.slice(0, 2)).toEqual(['action', 'allows']);
    expect(roleColumns).toEqual(Object.keys(columns));
  });

  it('has a row for each action, once, and nothing else', () => {
    expect(rows.map((r) => r.action)).toEqual([...actions]);
  });

  it('says what authorize answers for every role and action', () => {
    const wrong: unknown[] = [];
    for (const row of rows) {
      for (const [i, column] of roleColumns.entries()) {
        const stated = row.cells[i + 2];
        const actual = cellOf(columns[column] as Actor, row.action as Action);
        if (stated !== actual) wrong.push({ line: row.line, action: row.action, role: column, doc: stated, authorize: actual });
      }
    }
    expect(wrong).toEqual([]);
  });
});
