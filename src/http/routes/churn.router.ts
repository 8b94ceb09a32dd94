import Router from '@koa/router';
import { z } from 'zod';
import { ANY_ROLE, allow, api, sidebarSession } from '../access.js';
import type { ChurnRiskService } from '../../domain/churn/churn-risk.service.js';
import { parseInput } from '../pagination.js';
import { presentChurnRisk } from '../presenters/churn.presenter.js';
import { viewerOf } from './customers.router.js';

const idParams = z.object({ externalUserId: z.string().min(1).max(64) });

/** `GET /api/v1/customers/:id/churn-risk`: the customer's churn-risk score and its reasons (docs/churn.md §API). */
export function churnApiRouter(churn: ChurnRiskService): Router {
  const router = new Router({ prefix: '/api/v1', sensitive: true });
  router.get('/customers/:externalUserId/churn-risk', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const { externalUserId } = parseInput(idParams, ctx.params);
    ctx.body = presentChurnRisk(await churn.forViewer(externalUserId, viewerOf(ctx.state.principal)), churn.threshold);
  });
  return router;
}

/** The same for the chat sidebar's member, their own customers only. */
export function churnSidebarRouter(churn: ChurnRiskService): Router {
  const router = new Router({ prefix: '/sidebar/api', sensitive: true });
  router.get('/customers/:externalUserId/churn-risk', allow(sidebarSession), async (ctx) => {
    const { externalUserId } = parseInput(idParams, ctx.params);
    ctx.body = presentChurnRisk(await churn.forViewer(externalUserId, viewerOf(ctx.state.principal)), churn.threshold);
  });
  return router;
}
