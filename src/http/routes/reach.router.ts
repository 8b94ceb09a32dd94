import Router from '@koa/router';
import { z } from 'zod';
import { ANY_ROLE, allow, api } from '../access.js';
import { parseInput } from '../pagination.js';
import type { ReachService } from '../../domain/analytics/reach.service.js';
import { reachCsv } from '../../domain/analytics/reach-csv.js';
import { range, sendCsv, viewerOf } from './analytics.router.js';

const reachQuery = z.object({
  ...range,
  // Every ledger kind the console's filter offers (会员升级, 满意度调查 and 客户旅程 too): a kind without rows answers an empty result.
  kind: z.enum(['care', 'winback', 'broadcast', 'loyalty', 'survey', 'journey'], { message: '类型须为 care、winback、broadcast、loyalty、survey 或 journey' }).optional(),
  id: z.string().min(1, 'ID 不能为空').max(36, 'ID 最长 36 个字符').optional(),
  table: z.enum(['sources', 'periods'], { message: 'table 须为 sources 或 periods' }).default('sources'),
});

/**
 * 触达效果 (docs/analytics.md §Care and campaign results): `GET /api/v1/analytics/reach`, per care rule, win-back
 * campaign and broadcast, the delivery funnel and the orders and WeChat-KF replies within 7 days, for the messages
 * and for the held-out customers, as JSON or CSV. Read from the rollup only; staff see the rows they were the sender of.
 */
export function reachRouter(reach: ReachService): Router {
  const router = new Router({ prefix: '/api/v1/analytics', sensitive: true });
  router.get('/reach', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const q = parseInput(reachQuery, ctx.query);
    const a = await reach.reach({ ...q, sourceKind: q.kind, sourceId: q.id }, viewerOf(ctx.state.principal));
    if (q.format === 'csv') sendCsv(ctx, reachCsv(a, q.table), 'care-campaign-results', '触达效果', a.from, a.to);
    else ctx.body = a;
  });
  return router;
}
