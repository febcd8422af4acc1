/**
 * The gateway's own roles, most to least privileged. A company identity token is mapped onto
 * these (config `identity.jwt.roleMap`); what each may do is decided by the surface that uses it.
 */
export const roles = ['admin', 'team_admin', 'member', 'viewer'] as const;

export type Role = (typeof roles)[number];

const roleNames: ReadonlySet<string> = new Set(roles);

export function isRole(value: string): value is Role {
  return roleNames.has(value);
}
