import Router from '@koa/router';
import { z } from 'zod';
import type { StaffService } from '../../domain/customers/staff.service.js';
import { pageQuery, parseInput } from '../pagination.js';
import { requireRole } from '../middleware/auth.js';
import { bodyOf } from '../body.js';
import { presentStaff } from '../presenters/staff.presenter.js';

const useridParams = z.object({ userid: z.string().min(1).max(64) });
// WeCom names are 1–64 characters (doc path/90195); '' clears the manual name and hands it back to WeCom.
const staffPatch = z.object({ name: z.string().trim().max(64) });

/** `/api/v1/staff`: staff members and their display names ({{staff}} in templates). */
export function staffRouter(staff: StaffService): Router {
  const router = new Router({ prefix: '/api/v1/staff' });
  router.use(requireRole('staff'));
  router.get('/', async (ctx) => {
    const q = parseInput(pageQuery, ctx.query);
    const { items, total } = await staff.list(q.page, q.pageSize);
    ctx.body = { items: items.map(presentStaff), total };
  });
  router.patch('/:userid', requireRole('operator'), async (ctx) => {
    const { userid } = parseInput(useridParams, ctx.params);
    const { name } = parseInput(staffPatch, bodyOf(ctx));
    ctx.body = presentStaff(await staff.rename(userid, name));
  });
  return router;
}
