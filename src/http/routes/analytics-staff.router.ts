import Router from '@koa/router';
import { z } from 'zod';
import { ANY_ROLE, allow, api } from '../access.js';
import { parseInput } from '../pagination.js';
import type { StaffPerformanceService } from '../../domain/analytics/staff-performance.service.js';
import { staffCsv } from '../../domain/analytics/staff-performance-csv.js';
import { range, sendCsv, viewerOf } from './analytics.router.js';
import type { GroupStatsService } from '../../domain/analytics/group-stats.service.js';

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

const groupsQuery = z.object({ ...range });

/**
 * 客户群数据 (docs/groups.md §Group statistics): `GET /api/v1/analytics/groups`, per period WeCom's 群聊数据统计 as pulled
 * nightly: new groups, new members, messages, groups with messages and members who spoke. The corp's figures, or one
 * owner's with `userid`; staff see only their own groups.
 */
export function analyticsGroupsRouter(groups: GroupStatsService): Router {
  const router = new Router({ prefix: '/api/v1/analytics', sensitive: true });
  router.get('/groups', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const q = parseInput(groupsQuery, ctx.query);
    const a = await groups.groups(q, viewerOf(ctx.state.principal));
    if (q.format === 'csv') sendCsv(ctx, groupsCsv(a), 'group-stats', '客户群数据', a.from, a.to);
    else ctx.body = a;
  });
  return router;
}

/** The periods as CSV with Chinese headers. */
function groupsCsv(a: Awaited<ReturnType<GroupStatsService['groups']>>): string {
  const head = ['周期', '新增客户群', '新增群成员', '群消息数', '有消息的群（单日最多）', '发言成员（单日最多）', '客户群总数', '群成员总数', '统计天数'];
  const rows = a.lines.map((l) => [l.period, l.newGroups, l.newMembers, l.messages, l.activeGroups, l.speakingMembers, l.groupTotal ?? '', l.memberTotal ?? '', l.days]);
  return '\ufeff' + [head, ...rows].map((r) => r.join(',')).join('\r\n') + '\r\n';
}
