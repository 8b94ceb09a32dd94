import Router from '@koa/router';
import { z } from 'zod';
import { ANY_ROLE, allow, api } from '../access.js';
import { parseInput } from '../pagination.js';
import type { RetentionAnalyticsService } from '../../domain/analytics/retention.service.js';
import { churnCsv, cohortsCsv } from '../../domain/analytics/retention-csv.js';
import { range, sendCsv, viewerOf } from './analytics.router.js';

const channel = z.string().max(36, '渠道 ID 最长 36 个字符').optional();
// A cohort is a week of adds unless asked otherwise: the table reads week by week.
const cohortsQuery = z.object({ ...range, granularity: z.enum(['day', 'week', 'month'], { message: '粒度须为 day、week 或 month' }).default('week'), channel });
const churnQuery = z.object({ ...range, channel });

/**
 * 留存 and 流失分析 (docs/analytics.md §Retention cohorts, §Churn analysis): `GET /api/v1/analytics/cohorts` and
 * `/churn`, with the other questions' range, granularity, member and channel filters, as JSON or CSV. Read from the
 * rollups only; staff see their own relations.
 */
export function analyticsRetentionRouter(retention: RetentionAnalyticsService): Router {
  const router = new Router({ prefix: '/api/v1/analytics', sensitive: true });
  router.get('/cohorts', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const q = parseInput(cohortsQuery, ctx.query);
    const a = await retention.cohorts({ ...q, channelId: q.channel }, viewerOf(ctx.state.principal));
    if (q.format === 'csv') sendCsv(ctx, cohortsCsv(a), 'retention-cohorts', '留存', a.from, a.to);
    else ctx.body = a;
  });
  router.get('/churn', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const q = parseInput(churnQuery, ctx.query);
    const a = await retention.churn({ ...q, channelId: q.channel }, viewerOf(ctx.state.principal));
    if (q.format === 'csv') sendCsv(ctx, churnCsv(a), 'churn-analysis', '流失分析', a.from, a.to);
    else ctx.body = a;
  });
  return router;
}
