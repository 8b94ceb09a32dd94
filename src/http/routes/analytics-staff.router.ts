import Router from '@koa/router';
import { z } from 'zod';
import { ANY_ROLE, allow, api } from '../access.js';
import { parseInput } from '../pagination.js';
import type { StaffPerformanceService } from '../../domain/analytics/staff-performance.service.js';
import { staffCsv } from '../../domain/analytics/staff-performance-csv.js';
import { range, sendCsv, viewerOf } from './analytics.router.js';

const staffQuery = z.object({
  ...range,
  table: z.enum(['periods', 'members'], { message: 'table 须为 periods 或 members' }).default('periods'),
});

/**
 * 员工统计 (docs/analytics.md §Staff performance): `GET /api/v1/analytics/staff`, per member and period WeCom's own
 * figures (联系客户统计, pulled nightly) next to the bot's (customers, mass-send tasks confirmed late or never, follow-ups
 * due and done), as JSON or CSV. Read from the rollups only; staff see themselves.
 */
export function analyticsStaffRouter(staff: StaffPerformanceService): Router {
  const router = new Router({ prefix: '/api/v1/analytics', sensitive: true });
  router.get('/staff', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const q = parseInput(staffQuery, ctx.query);
    const a = await staff.staff(q, viewerOf(ctx.state.principal));
    if (q.format === 'csv') sendCsv(ctx, staffCsv(a, q.table), 'staff-performance', '员工统计', a.from, a.to);
    else ctx.body = a;
  });
  return router;
}
