import Router from '@koa/router';
import { z } from 'zod';
import { ANY_ROLE, allow, api, sidebarSession } from '../access.js';
import type { ChurnRiskService } from '../../domain/churn/churn-risk.service.js';
import type { ChurnCauseService } from '../../domain/churn/churn-cause.service.js';
import type { Principal } from '../../domain/auth/api-token.service.js';
import { parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { auditNote } from '../write-guards.js';
import { presentChurnCause, presentChurnRisk } from '../presenters/churn.presenter.js';
import { viewerOf } from './customers.router.js';

const idParams = z.object({ externalUserId: z.string().min(1).max(64) });
const causeId = z.object({ id: z.coerce.number().int().positive() });
const causeBody = z.object({ cause: z.string().max(32), note: z.string().max(1000).nullish() }).strict();
const periodQuery = z.object({ from: z.string().max(10).optional(), to: z.string().max(10).optional() });

/** Who recorded a cause: the member, the token, or ADMIN_TOKEN. */
function actorOf(p: Principal): string {
  if (p.userid) return p.userid;
  if (p.tokenId) return `token:${p.tokenId}`;
  return 'ADMIN_TOKEN';
}

/**
 * 流失原因 (docs/churn.md §Causes): a customer's lost relations with the bot's cause and the recorded one, recording
 * one, and the losses by cause. A staff member: their own relations' losses only.
 */
export function churnCausesRouter(causes: ChurnCauseService): Router {
  const router = new Router({ prefix: '/api/v1', sensitive: true });
  router.get('/customers/:externalUserId/churn-causes', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const { externalUserId } = parseInput(idParams, ctx.params);
    ctx.body = { items: (await causes.forCustomer(externalUserId, viewerOf(ctx.state.principal))).map(presentChurnCause) };
  });
  router.post('/churn-causes/:id', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const { id } = parseInput(causeId, ctx.params);
    const body = parseInput(causeBody, bodyOf(ctx));
    const { before, after } = await causes.record(id, body, viewerOf(ctx.state.principal), actorOf(ctx.state.principal));
    auditNote(ctx, { action: 'churn.cause', customerId: after.externalUserId, before: { staffCause: before.staffCause }, after: { staffCause: after.staffCause } });
    ctx.body = presentChurnCause(after);
  });
  router.get('/analytics/churn-causes', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    ctx.body = await causes.counts(parseInput(periodQuery, ctx.query), viewerOf(ctx.state.principal));
  });
  return router;
}

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
