import Router from '@koa/router';
import { ANY_ROLE, OPERATORS, allow, api } from '../access.js';
import { z } from 'zod';
import type { StaffService } from '../../domain/customers/staff.service.js';
import type { StaffAccessService } from '../../domain/auth/staff-access.service.js';
import type { Principal } from '../../domain/auth/api-token.service.js';
import { pageQuery, parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { presentStaff } from '../presenters/staff.presenter.js';
import { auditNote } from '../write-guards.js';

const useridParams = z.object({ userid: z.string().min(1).max(64) });
// WeCom names are 1–64 characters (doc path/90195); '' clears the manual name and hands it back to WeCom.
const staffPatch = z.object({ name: z.string().trim().max(64) });
const revokeBody = z.object({ resigned: z.boolean().default(false) }).strict();

/** `/api/v1/staff`: staff members and their display names ({{staff}} in templates). */
export function staffRouter(staff: StaffService, access: StaffAccessService): Router {
  const router = new Router({ prefix: '/api/v1/staff', sensitive: true });
  router.get('/', allow(api(ANY_ROLE, 'none')), async (ctx) => {
    const q = parseInput(pageQuery, ctx.query);
    const { items, total } = await staff.list(q.page, q.pageSize);
    ctx.body = { items: items.map(presentStaff), total };
  });
  router.patch('/:userid', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { userid } = parseInput(useridParams, ctx.params);
    const { name } = parseInput(staffPatch, bodyOf(ctx));
    // The audit log's before/after (docs/security.md §Audit log); an unknown member is refused below and not recorded.
    const before = await staff.find(userid);
    if (before) auditNote(ctx, { before: presentStaff(before) });
    ctx.body = presentStaff(await staff.rename(userid, name));
  });
  // 收回访问: sign the member out of the sidebar everywhere and revoke their staff tokens; `resigned` also keeps
  // them from signing in again (离职).
  router.post('/:userid/revoke-access', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { userid } = parseInput(useridParams, ctx.params);
    const { resigned } = parseInput(revokeBody, bodyOf(ctx));
    const p = ctx.state.principal as Principal;
    const before = await staff.find(userid);
    if (before) auditNote(ctx, { before: presentStaff(before) });
    const r = await access.revoke(userid, { resigned, by: p.tokenId ? `${p.role}:${p.tokenId}` : `${p.role}:ADMIN_TOKEN` });
    ctx.body = { ...presentStaff(r.member), revokedTokens: r.revokedTokens };
  });
  return router;
}
