import { and, asc, eq, gt, inArray } from 'drizzle-orm';
import type { z } from 'zod';
import { applyChange } from '../control/change.js';
import { newId } from '../control/secrets.js';
import { memberships, teams, users } from '../control/store/schema.js';
import { GatewayError } from '../errors/gateway-error.js';
import { readableTeams } from './access.js';
import { createUserBody, listOf, setMemberBody, updateUserBody, userView } from './bodies.js';
import type { AdminCall, AdminReply, AdminRoute } from './context.js';
import { configTenant, notFound, paged, pageOf } from './helpers.js';
import { userFromRow } from './views.js';

const member = listOf(userView);

export const userRoutes: AdminRoute[] = [
  { method: 'GET', path: '/users', summary: 'List people known to the gateway, with their roles', action: 'user.read', query: paged, status: 200, response: member, handle: listUsers },
  { method: 'POST', path: '/users', summary: 'Add a person (by identity-provider subject), optionally with a global role', action: 'user.write', body: createUserBody, status: 201, response: userView, handle: createUser },
  { method: 'GET', path: '/users/{id}', summary: 'Get a person', action: 'user.read', status: 200, response: userView, handle: getUser },
  { method: 'PATCH', path: '/users/{id}', summary: "Change a person's email or global role", action: 'user.write', body: updateUserBody, status: 200, response: userView, handle: updateUser },
  { method: 'DELETE', path: '/users/{id}', summary: 'Remove a person and their memberships', action: 'user.write', status: 200, response: userView, handle: deleteUser },
  { method: 'GET', path: '/teams/{team}/members', summary: "A team's members and their roles", action: 'user.read', status: 200, response: member, handle: listMembers },
  { method: 'PUT', path: '/teams/{team}/members/{id}', summary: 'Give a person a role in a team', action: 'member.write', body: setMemberBody, status: 200, response: userView, handle: setMember },
  { method: 'DELETE', path: '/teams/{team}/members/{id}', summary: 'Remove a person from a team', action: 'member.write', status: 200, response: userView, handle: removeMember },
];

type UserRow = typeof users.$inferSelect;

async function viewsOf(call: AdminCall, rows: readonly UserRow[]): Promise<Array<z.infer<typeof userView>>> {
  if (rows.length === 0) return [];
  const ms = await call.db.select().from(memberships).where(inArray(memberships.userId, rows.map((r) => r.id)));
  return rows.map((r) =>
    userFromRow(
      r,
      ms.filter((m) => m.userId === r.id).map((m) => ({ team: m.team, role: m.role })),
    ),
  );
}

async function listUsers(call: AdminCall): Promise<AdminReply> {
  const visible = readableTeams(call.actor, 'user.read');
  if (visible !== 'all' && visible.size === 0) call.require('user.read');
  const { limit, after } = pageOf(call.query);
  // A team admin's pages hold only members of their teams, chosen by the query itself: filtering
  // a page afterwards ended lists early and handed out other people's ids as the next cursor.
  const members = visible === 'all' ? undefined : inArray(users.id, call.db.select({ id: memberships.userId }).from(memberships).where(inArray(memberships.team, [...visible])));
  const rows = await call.db
    .select()
    .from(users)
    .where(and(after === undefined ? undefined : gt(users.id, after), members))
    .orderBy(asc(users.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  // A team admin sees the members of their teams, and of those only their teams' memberships.
  const views = (await viewsOf(call, page))
    .map((u) => (visible === 'all' ? u : { ...u, teams: u.teams.filter((t) => visible.has(t.team)) }))
    .filter((u) => visible === 'all' || u.teams.length > 0);
  return { status: 200, body: { object: 'list', data: views, nextCursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null } };
}

async function getUser(call: AdminCall): Promise<AdminReply> {
  const id = call.params[0] as string;
  const [row] = await call.db.select().from(users).where(eq(users.id, id));
  if (!row) throw notFound('user', id);
  const [view] = await viewsOf(call, [row]);
  const u = view as z.infer<typeof userView>;
  const visible = readableTeams(call.actor, 'user.read');
  if (visible === 'all') return { status: 200, body: u };
  const teamsSeen = u.teams.filter((t) => visible.has(t.team));
  // Someone outside the caller's teams is refused like any other denied read (403, audited).
  if (teamsSeen.length === 0) call.require('user.read', u.teams[0]?.team);
  return { status: 200, body: { ...u, teams: teamsSeen } };
}

async function createUser(call: AdminCall<z.infer<typeof createUserBody>>): Promise<AdminReply> {
  call.require('user.write');
  const b = call.body;
  const id = newId('user');
  const created = await applyChange(call.db, call.now, async (tx) => {
    const inserted = await tx
      .insert(users)
      .values({ id, subject: b.subject, email: b.email ?? null, role: b.role ?? null, createdAt: call.now, updatedAt: call.now })
      .onConflictDoNothing()
      .returning();
    if (inserted.length === 0) throw new GatewayError('resource_conflict', `A user with subject '${b.subject}' already exists.`, { param: 'subject' });
    const view = userFromRow(inserted[0] as UserRow, []);
    return { result: view, audit: [call.audit({ action: 'user.created', targetType: 'user', targetId: id, after: view })] };
  });
  return { status: 201, body: created };
}

async function updateUser(call: AdminCall<z.infer<typeof updateUserBody>>): Promise<AdminReply> {
  call.require('user.write');
  const id = call.params[0] as string;
  const b = call.body;
  const updated = await applyChange(call.db, call.now, async (tx) => {
    const [before] = await tx.select().from(users).where(eq(users.id, id)).for('update');
    if (!before) throw notFound('user', id);
    const [after] = await tx
      .update(users)
      .set({ ...(b.email !== undefined ? { email: b.email } : {}), ...(b.role !== undefined ? { role: b.role } : {}), updatedAt: call.now })
      .where(eq(users.id, id))
      .returning();
    const ms = await tx.select().from(memberships).where(eq(memberships.userId, id));
    const teamsOf = ms.map((m) => ({ team: m.team, role: m.role }));
    const view = userFromRow(after as UserRow, teamsOf);
    return { result: view, audit: [call.audit({ action: 'user.updated', targetType: 'user', targetId: id, before: userFromRow(before, teamsOf), after: view })] };
  });
  return { status: 200, body: updated };
}

async function deleteUser(call: AdminCall): Promise<AdminReply> {
  call.require('user.write');
  const id = call.params[0] as string;
  const deleted = await applyChange(call.db, call.now, async (tx) => {
    const [before] = await tx.select().from(users).where(eq(users.id, id)).for('update');
    if (!before) throw notFound('user', id);
    const ms = await tx.select().from(memberships).where(eq(memberships.userId, id));
    await tx.delete(users).where(eq(users.id, id));
    const view = userFromRow(before, ms.map((m) => ({ team: m.team, role: m.role })));
    return { result: view, audit: [call.audit({ action: 'user.deleted', targetType: 'user', targetId: id, before: view })] };
  });
  return { status: 200, body: deleted };
}

async function listMembers(call: AdminCall): Promise<AdminReply> {
  const team = call.params[0] as string;
  call.require('user.read', team);
  const rows = await call.db
    .select({ user: users })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.team, team))
    .orderBy(asc(users.id))
    .limit(10_000);
  const views = (await viewsOf(call, rows.map((r) => r.user))).map((u) => ({ ...u, teams: u.teams.filter((t) => t.team === team) }));
  return { status: 200, body: { object: 'list', data: views } };
}

async function setMember(call: AdminCall<z.infer<typeof setMemberBody>>): Promise<AdminReply> {
  const team = call.params[0] as string;
  const id = call.params[1] as string;
  call.require('member.write', team);
  const role = call.body.role;
  const view = await applyChange(call.db, call.now, async (tx) => {
    if (!configTenant(call.config, team)) {
      const [t] = await tx.select({ name: teams.name }).from(teams).where(eq(teams.name, team)).for('share');
      if (!t) throw notFound('team', team);
    }
    const [user] = await tx.select().from(users).where(eq(users.id, id)).for('update');
    if (!user) throw notFound('user', id);
    const [before] = await tx.select().from(memberships).where(and(eq(memberships.userId, id), eq(memberships.team, team)));
    await tx.insert(memberships).values({ userId: id, team, role }).onConflictDoUpdate({ target: [memberships.userId, memberships.team], set: { role } });
    const after = userFromRow(user, [{ team, role }]);
    return { result: after, audit: [call.audit({ action: 'member.set', targetType: 'user', targetId: id, before: before ? { team, role: before.role } : null, after: { team, role } })] };
  });
  return { status: 200, body: view };
}

async function removeMember(call: AdminCall): Promise<AdminReply> {
  const team = call.params[0] as string;
  const id = call.params[1] as string;
  call.require('member.write', team);
  const view = await applyChange(call.db, call.now, async (tx) => {
    const [user] = await tx.select().from(users).where(eq(users.id, id)).for('update');
    const removed = user ? await tx.delete(memberships).where(and(eq(memberships.userId, id), eq(memberships.team, team))).returning() : [];
    if (!user || removed.length === 0) throw new GatewayError('resource_not_found', `The user '${id}' is not a member of '${team}'.`);
    return { result: userFromRow(user, []), audit: [call.audit({ action: 'member.removed', targetType: 'user', targetId: id, before: { team, role: removed[0]?.role }, after: null })] };
  });
  return { status: 200, body: view };
}
