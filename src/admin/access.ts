import type { AuditActor } from '../control/audit.js';
import type { KeyRole } from '../control/snapshot.js';

/**
 * Who is calling the admin API, and with which roles: `admin` or `viewer` over every team, and
 * per-team roles (`team_admin`, `member`, `viewer`). docs/access-control.md is the matrix in prose.
 */
export interface Actor {
  readonly audit: AuditActor;
  readonly globalRole: 'admin' | 'viewer' | undefined;
  readonly teamRoles: ReadonlyMap<string, KeyRole>;
}

/** Every action of the admin API. `read` actions list or show; the rest change something. */
export const actions = [
  'team.read',
  'team.create',
  'team.update',
  'team.delete',
  'key.read',
  'key.write',
  'user.read',
  'user.write',
  'member.write',
  'audit.read',
  'spend.read',
  'batch.read',
  'batch.write',
  'metrics.read',
  'model.call',
] as const;
export type Action = (typeof actions)[number];

/** What an action applies to: a team, or (no team) the whole gateway. */
export interface Resource {
  readonly team?: string | undefined;
}

/**
 * The one authorization function (architecture §8): used by every admin route, and by the data
 * plane to decide who may call models (`model.call`). Deny unless a rule allows.
 *
 * | action        | admin | viewer | team_admin of T | viewer of T | member of T |
 * |---------------|-------|--------|-----------------|-------------|-------------|
 * | team.read     | all   | all    | T               | T           | -           |
 * | team.create/update/delete | all | - | -          | -           | -           |
 * | key.read      | all   | all    | T               | T           | -           |
 * | key.write     | all   | -      | T               | -           | -           |
 * | user.read     | all   | all    | members of T    | members of T| -           |
 * | user.write    | all   | -      | -               | -           | -           |
 * | member.write  | all   | -      | T               | -           | -           |
 * | audit.read    | all   | all    | -               | -           | -           |
 * | spend.read    | all   | all    | T               | T           | -           |
 * | batch.read    | all   | all    | T               | T           | -           |
 * | batch.write   | all   | -      | T               | -           | -           |
 * | metrics.read  | all   | all    | -               | -           | -           |
 * | model.call    | all   | -      | T               | -           | T           |
 *
 * A team admin changes only their own team's keys and members, and cannot change the team's own
 * models or limits: that would let them raise their own allowance. `metrics.read` (live traffic,
 * deployment state) is gateway-wide: it shows every team's traffic, so no team role has it.
 * docs/access-control.md holds
 * the same table (a test compares the two).
 */
export function authorize(actor: Actor, action: Action, resource: Resource = {}): boolean {
  if (actor.globalRole === 'admin') return true;
  const read = action.endsWith('.read');
  if (actor.globalRole === 'viewer' && read) return true;
  const team = resource.team;
  const role = team === undefined ? undefined : actor.teamRoles.get(team);
  switch (action) {
    case 'team.read':
    case 'key.read':
    case 'user.read':
    case 'spend.read':
    case 'batch.read':
      return role === 'team_admin' || role === 'viewer';
    case 'key.write':
    case 'batch.write':
    case 'member.write':
      return role === 'team_admin';
    case 'model.call':
      return role === 'team_admin' || role === 'member';
    default:
      return false;
  }
}

/**
 * The teams whose resources the actor may read with `action` (for filtering lists), or `all`.
 * An empty set means the actor may read none: the list route answers 403.
 */
export function readableTeams(actor: Actor, action: 'team.read' | 'key.read' | 'user.read' | 'spend.read' | 'batch.read'): 'all' | ReadonlySet<string> {
  if (actor.globalRole === 'admin' || actor.globalRole === 'viewer') return 'all';
  const teams = new Set<string>();
  for (const team of actor.teamRoles.keys()) if (authorize(actor, action, { team })) teams.add(team);
  return teams;
}

/**
 * Whether the actor may do `action` at all: gateway-wide, or on at least one of their teams.
 * The admin API asks this before it looks at anything a request names (an id, a body), so a
 * caller without the permission is refused the same way whether or not what they name exists.
 */
export function mayEver(actor: Actor, action: Action): boolean {
  if (authorize(actor, action)) return true;
  for (const team of actor.teamRoles.keys()) if (authorize(actor, action, { team })) return true;
  return false;
}
