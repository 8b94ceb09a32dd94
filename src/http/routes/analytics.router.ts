import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { ANY_ROLE, allow, api } from '../access.js';
import { parseInput } from '../pagination.js';
import { isLocalDate } from '../../shared/dates.js';
import type { AnalyticsService } from '../../domain/analytics/analytics.service.js';
import type { AnalyticsViewer } from '../../domain/analytics/analytics.types.js';
import { channelsCsv, growthCsv, mixCsv, totalsCsv, transitionsCsv } from '../../domain/analytics/analytics-csv.js';
import type { Principal } from '../../domain/auth/api-token.service.js';

const day = (what: string) => z.string().refine(isLocalDate, `${what}须为 YYYY-MM-DD 格式的日期`).optional();
/** The range, granularity, member and format every analytics question takes. */
export const range = {
  from: day('开始日期'),
  to: day('结束日期'),
  granularity: z.enum(['day', 'week', 'month'], { message: '粒度须为 day、week 或 month' }).default('day'),
  userid: z.string().min(1, '员工 userid 不能为空').max(64, '员工 userid 最长 64 个字符').optional(),
  format: z.enum(['json', 'csv'], { message: '格式须为 json 或 csv' }).default('json'),
};
const growthQuery = z.object({
  ...range,
  by: z.enum(['none', 'channel', 'staff', 'tag'], { message: '拆分方式须为 none、channel、staff 或 tag' }).default('none'),
  channel: z.string().max(36, '渠道 ID 最长 36 个字符').optional(),
  tagGroup: z.string().min(1, '标签组 ID 不能为空').max(64, '标签组 ID 最长 64 个字符').optional(),
});
const totalsQuery = z.object({ ...range, by: z.enum(['none', 'staff'], { message: '拆分方式须为 none 或 staff' }).default('none') });
const channelsQuery = z.object({
  ...range,
  channel: z.string().max(36, '渠道 ID 最长 36 个字符').optional(),
  sort: z.enum(['adds', 'net', 'retention7d', 'retention30d', 'orderedShare30d', 'revenue'], { message: '排序须为 adds、net、retention7d、retention30d、orderedShare30d 或 revenue' }).default('adds'),
  table: z.enum(['ranking', 'periods'], { message: 'table 须为 ranking 或 periods' }).default('ranking'),
});

const dimension = z.enum(['activity', 'rfm', 'stage'], { message: '维度须为 activity、rfm 或 stage' }).default('activity');
const mixQuery = z.object({ ...range, dimension });
const transitionsQuery = z.object({
  ...range,
  dimension,
  fromValue: z.string().max(32, '原分级最长 32 个字符').optional(),
  toValue: z.string().max(32, '新分级最长 32 个字符').optional(),
});

export function viewerOf(p: Principal): AnalyticsViewer {
  return { role: p.role, userid: p.userid };
}

/** Answer with a CSV download: UTF-8 with a BOM, an ASCII file name and the zh-CN one (RFC 6266). */
export function sendCsv(ctx: Context, body: string, ascii: string, zh: string, from: string, to: string): void {
  ctx.type = 'text/csv; charset=utf-8';
  ctx.set('Content-Disposition', `attachment; filename="${ascii}-${from}_${to}.csv"; filename*=UTF-8''${encodeURIComponent(`${zh}-${from}_${to}.csv`)}`);
  ctx.body = body;
}

/**
 * 数据分析 (docs/analytics.md): `GET /api/v1/analytics/growth`, `/customer-totals`, `/channels`, `/mix` and
 * `/transitions`, each with a local date range, a granularity and filters, as JSON or CSV (`format=csv`). Answers are
 * read from the rollups only. Staff get their own numbers; operators and admins everyone's.
 */
export function analyticsRouter(analytics: AnalyticsService): Router {
  const router = new Router({ prefix: '/api/v1/analytics', sensitive: true });
  router.get('/growth', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const q = parseInput(growthQuery, ctx.query);
    const a = await analytics.growth({ ...q, channelId: q.channel, tagGroupId: q.tagGroup }, viewerOf(ctx.state.principal));
    if (q.format === 'csv') sendCsv(ctx, growthCsv(a), 'customer-growth', '客户增长', a.from, a.to);
    else ctx.body = a;
  });
  router.get('/customer-totals', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const q = parseInput(totalsQuery, ctx.query);
    const a = await analytics.totals(q, viewerOf(ctx.state.principal));
    if (q.format === 'csv') sendCsv(ctx, totalsCsv(a), 'customer-totals', '客户总数', a.from, a.to);
    else ctx.body = a;
  });
  router.get('/channels', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const q = parseInput(channelsQuery, ctx.query);
    const a = await analytics.channels({ ...q, channelId: q.channel }, viewerOf(ctx.state.principal));
    if (q.format === 'csv') sendCsv(ctx, channelsCsv(a, q.table), 'channel-effectiveness', '渠道效果', a.from, a.to);
    else ctx.body = a;
  });
  router.get('/mix', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const q = parseInput(mixQuery, ctx.query);
    const a = await analytics.mix(q, viewerOf(ctx.state.principal));
    if (q.format === 'csv') sendCsv(ctx, mixCsv(a), `customer-mix-${q.dimension}`, '客户结构', a.from, a.to);
    else ctx.body = a;
  });
  router.get('/transitions', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const q = parseInput(transitionsQuery, ctx.query);
    const a = await analytics.transitions(q, viewerOf(ctx.state.principal));
    if (q.format === 'csv') sendCsv(ctx, transitionsCsv(a), `customer-transitions-${q.dimension}`, '客户结构变化', a.from, a.to);
    else ctx.body = a;
  });
  return router;
}
