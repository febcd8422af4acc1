import type { Me } from './types.js';

/**
 * What the signed-in caller may do, from GET /admin/v1/me, mirroring src/admin/access.ts. The
 * console only hides what a role cannot do: the admin API refuses it anyway (403).
 */
export interface Access {
  readonly metrics: boolean;
  readonly audit: boolean;
  readonly teams: boolean;
  readonly spend: boolean;
  readonly createTeam: boolean;
  /** Teams whose keys the caller may create, rotate and revoke; `all` for an admin. */
  readonly keyWrite: 'all' | ReadonlySet<string>;
}

export function accessOf(me: Me): Access {
  const global = me.role;
  const readsTeams = me.teams.some((t) => t.role === 'team_admin' || t.role === 'viewer');
  return {
    metrics: global !== null,
    audit: global !== null,
    teams: global !== null || readsTeams,
    spend: global !== null || readsTeams,
    createTeam: global === 'admin',
    keyWrite: global === 'admin' ? 'all' : new Set(me.teams.filter((t) => t.role === 'team_admin').map((t) => t.team)),
  };
}

export function mayWriteKeys(access: Access, team: string): boolean {
  return access.keyWrite === 'all' || access.keyWrite.has(team);
}

export function mayWriteAnyKey(access: Access): boolean {
  return access.keyWrite === 'all' || access.keyWrite.size > 0;
}
