import Router from '@koa/router';
import { z } from 'zod';
import { ADMINS, OPERATORS, allow, api } from '../access.js';
import type { Principal } from '../../domain/auth/api-token.service.js';
import { MEMBER_ROLES, type MemberRoleService, type MemberWithRole, type RoleView } from '../../domain/auth/member-role.service.js';
import { pageQuery, parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { auditNote } from '../write-guards.js';
import type { MemberRole } from '../../domain/auth/console-access.types.js';

const listQuery = pageQuery.extend({ role: z.enum(['admin', 'operator', 'staff', 'none']).optional(), q: z.string().trim().max(64).optional() });
const userParams = z.object({ userid: z.string().min(1).max(64) });
const roleBody = z.object({ role: z.enum(MEMBER_ROLES as [MemberRole, ...MemberRole[]]).nullable() }).strict();

const presentMember = (m: MemberWithRole) => ({ ...m, grantedAt: m.grantedAt?.toISOString() ?? null });
const presentRole = (r: RoleView | null) => (r ? { role: r.role, source: r.source, grantedBy: r.grantedBy, grantedAt: r.grantedAt?.toISOString() ?? null } : null);

/** Who did it, as a role grant records it. */
export function actorLabel(p: Principal): string {
  if (p.via === 'console') return `member:${p.userid}`;
  return p.tokenId ? `token:${p.tokenId}` : 'ADMIN_TOKEN';
}

/**
 * `/api/v1/users`: WeCom members and their console roles (员工与权限, docs/security.md §Console sign-in and roles). Admins
 * and operators read; only admins give or take roles.
 */
export function usersRouter(roles: MemberRoleService): Router {
  const router = new Router({ prefix: '/api/v1/users', sensitive: true });
  router.get('/', allow(api(OPERATORS, 'none')), async (ctx) => {
    const q = parseInput(listQuery, ctx.query);
    const needle = q.q?.toLowerCase();
    const all = (await roles.list()).filter(
      (m) => (!q.role || (q.role === 'none' ? m.role === null : m.role === q.role)) && (!needle || m.userid.toLowerCase().includes(needle) || m.name.toLowerCase().includes(needle)),
    );
    ctx.body = { items: all.slice((q.page - 1) * q.pageSize, q.page * q.pageSize).map(presentMember), total: all.length };
  });
  router.put('/:userid/role', allow(api(ADMINS, 'none')), async (ctx) => {
    const { userid } = parseInput(userParams, ctx.params);
    const { role } = parseInput(roleBody, bodyOf(ctx));
    const r = await roles.set(userid, role, actorLabel(ctx.state.principal as Principal), { knownOnly: true });
    auditNote(ctx, { before: presentRole(r.before), after: presentRole(r.after) });
    ctx.body = { userid, role: r.after?.role ?? null, roleSource: r.after?.source ?? null, before: r.before?.role ?? null };
  });
  return router;
}
