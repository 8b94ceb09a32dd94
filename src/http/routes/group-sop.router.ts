import Router from '@koa/router';
import { z } from 'zod';
import { OPERATORS, allow, api, signedLinkRoute } from '../access.js';
import type { GroupSopService } from '../../domain/group-sop/group-sop.service.js';
import { sopPlanInput, sopPlanPatch } from '../../domain/group-sop/group-sop.schema.js';
import type { Clock } from '../../shared/clock.js';
import { isLocalDate } from '../../shared/dates.js';
import { parseInput } from '../pagination.js';
import { auditNote } from '../write-guards.js';
import { PublicPageGuard, formBody, formOf } from '../public-page.js';
import { presentSopPlan, presentSopQuota, presentSopReport, renderSopLinkError, renderSopLinkPage } from '../presenters/group-sop.presenter.js';

const idParams = z.object({ id: z.string().min(1).max(36) });
const localDay = z.string().refine(isLocalDate, '日期须为 YYYY-MM-DD');
const reportQuery = z.object({ from: localDay.optional(), to: localDay.optional() });
const quotaInput = sopPlanInput.pick({ schedule: true, steps: true });

/**
 * 群SOP plans (docs/groups.md §Group SOP): `GET/POST /api/v1/group-sops`, `GET/PATCH/DELETE /api/v1/group-sops/:id`
 * (pause and resume are a PATCH of `isPaused`), `GET /api/v1/group-sops/:id/report` and the editor's quota check
 * `POST /api/v1/group-sops/quota`.
 */
export function groupSopApiRouter(sop: GroupSopService): Router {
  const router = new Router({ prefix: '/api/v1/group-sops', sensitive: true });
  router.get('/', allow(api(OPERATORS, 'none')), async (ctx) => {
    const items = await sop.list();
    ctx.body = { items: items.map(presentSopPlan), total: items.length };
  });
  // Before `/:id`. A read, although a POST: the editor sends the unsaved plan.
  router.post('/quota', allow(api(OPERATORS, 'none')), async (ctx) => {
    ctx.body = presentSopQuota(sop.quotaOf(parseInput(quotaInput, ctx.request.body)));
  });
  router.post('/', allow(api(OPERATORS, 'none')), async (ctx) => {
    const input = parseInput(sopPlanInput, ctx.request.body);
    ctx.status = 201;
    ctx.body = presentSopPlan(await sop.create(input, ctx.state.principal?.userid ?? ctx.state.principal?.name ?? null));
  });
  router.get('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    ctx.body = presentSopPlan(await sop.get(parseInput(idParams, ctx.params).id));
  });
  router.patch('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    const patch = parseInput(sopPlanPatch, ctx.request.body);
    auditNote(ctx, { before: presentSopPlan(await sop.get(id)) });
    ctx.body = presentSopPlan(await sop.update(id, patch));
  });
  router.delete('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    auditNote(ctx, { before: presentSopPlan(await sop.get(id)) });
    await sop.remove(id);
    ctx.status = 204;
  });
  router.get('/:id/report', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    ctx.body = presentSopReport(await sop.report(id, parseInput(reportQuery, ctx.query)));
  });
  return router;
}

const REFUSAL_STATUS = { malformed: 400, tampered: 403, expired: 410, gone: 404 } as const;

/**
 * `GET|POST /sop/<token>`: the page a group owner's reminder links to (docs/groups.md §The owner's reminder): the
 * content to use and a button per group to confirm it is done. The signed, expiring token is the credential, checked
 * before anything is read; rate limited like the other signed pages.
 */
export function groupSopPageRouter(d: { sop: GroupSopService; clock: Clock; tz: string; perMinutePerAddress: number; perMinutePerToken: number }): Router {
  const router = new Router({ sensitive: true });
  const guard = new PublicPageGuard({ perMinutePerAddress: d.perMinutePerAddress, perMinutePerToken: d.perMinutePerToken, now: () => d.clock.now().getTime(), formAction: "'self'" });
  const policy = signedLinkRoute("the signed link is the credential: one owner's groups of one SOP step, expiring, HMAC-checked before any read (docs/groups.md §The owner's reminder)");
  router.get('/sop/:token', allow(policy), async (ctx) => {
    const token = String(ctx.params.token ?? '');
    if (!guard.admit(ctx, token, renderSopLinkError('limited'))) return;
    const o = await d.sop.openLink(token);
    if (!o.ok) {
      ctx.status = REFUSAL_STATUS[o.reason];
      ctx.body = renderSopLinkError(o.reason);
      return;
    }
    ctx.body = renderSopLinkPage(o.view, d.tz);
  });
  router.post(
    '/sop/:token',
    allow(policy),
    async (ctx, next) => {
      if (!guard.admit(ctx, String(ctx.params.token ?? ''), renderSopLinkError('limited'))) return;
      await formBody(ctx, next);
    },
    async (ctx) => {
      const chat = formOf(ctx).chat;
      const out = await d.sop.confirmLink(String(ctx.params.token ?? ''), chat ? [chat.slice(0, 64)] : []);
      ctx.type = 'text/html; charset=utf-8';
      if (!out.ok) {
        ctx.status = REFUSAL_STATUS[out.reason];
        ctx.body = renderSopLinkError(out.reason);
        return;
      }
      ctx.body = renderSopLinkPage(out.view, d.tz, { confirmed: true });
    },
  );
  return router;
}
