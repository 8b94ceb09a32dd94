import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { ANY_ROLE, OPERATORS, allow, api, sidebarSession, signedLinkRoute } from '../access.js';
import type { SurveyService } from '../../domain/surveys/survey.service.js';
import type { SurveySender } from '../../domain/surveys/survey-sender.js';
import type { SurveyResultsService } from '../../domain/surveys/survey-results.service.js';
import { surveyInput, surveyStatusInput } from '../../domain/surveys/survey.schema.js';
import type { PlanSink } from '../../domain/delivery/delivery-ledger.js';
import type { CustomerService } from '../../domain/customers/customer.service.js';
import type { Clock } from '../../shared/clock.js';
import { ValidationError } from '../../shared/errors.js';
import { parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import type { SelfOrigin } from '../origin.js';
import { auditNote } from '../write-guards.js';
import { PublicPageGuard, formBody, formOf } from '../public-page.js';
import { viewerOf } from './customers.router.js';
import { presentAnswer, presentSurvey, renderSurveyError, renderSurveyPage, renderSurveyThanks } from '../presenters/survey.presenter.js';

const idParams = z.object({ id: z.coerce.number({ message: '问卷编号须为正整数' }).int('问卷编号须为正整数').min(1, '问卷编号须为正整数') });
const customerParams = z.object({ externalUserId: z.string().min(1).max(64), id: idParams.shape.id });
const customerOnly = z.object({ externalUserId: z.string().min(1).max(64) });
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, '日期须为 YYYY-MM-DD');
const resultsQuery = z
  .object({
    kind: z.enum(['nps', 'csat'], { message: 'kind 须为 nps 或 csat' }).default('nps'),
    surveyId: z.coerce.number().int().min(1, '问卷编号须为正整数').optional(),
    from: date.optional(),
    to: date.optional(),
    granularity: z.enum(['day', 'week', 'month'], { message: '粒度须为 day、week 或 month' }).default('week'),
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { message: '开始日期不能晚于结束日期', path: ['from'] });
const sendBody = z
  .object({
    audience: z.string().trim().max(4000, '受众表达式最多 4000 个字符').optional(),
    externalUserIds: z.array(z.string().min(1).max(64)).min(1, '请至少选择一位客户').max(10_000, '一次最多 10000 位客户').optional(),
  })
  .strict()
  .refine((b) => (b.audience === undefined) !== (b.externalUserIds === undefined), { message: '请给出受众表达式（audience）或客户列表（externalUserIds）之一' });
const answersQuery = z.object({
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
  from: date.optional(),
  to: date.optional(),
});

/** What the survey routes work with. */
export interface SurveyRouteDeps {
  surveys: SurveyService;
  sender: SurveySender;
  results: SurveyResultsService;
  customers: Pick<CustomerService, 'audienceWhere' | 'getVisible'>;
  /** The ledger sends by hand are planned into (the one every scheduled message goes through). */
  ledger: () => PlanSink;
  /** Audience members for a send by hand: ids of customers matching a compiled audience, a page at a time. */
  audienceIds: (where: { sql: string; params: unknown[] }, after: string, limit: number) => Promise<string[]>;
  origin: Pick<SelfOrigin, 'get'>;
  clock: Clock;
  tz: string;
}

/**
 * 满意度调查 API (docs/surveys.md §API): definitions for operators (every write audit-logged with before and after),
 * sending by hand through the delivery ledger, the results, a customer's answers and a link for staff to hand out.
 */
export function surveysApiRouter(d: SurveyRouteDeps): Router {
  const router = new Router({ prefix: '/api/v1', sensitive: true });
  router.get('/surveys', allow(api(ANY_ROLE, 'none')), async (ctx) => {
    const all = ctx.query.archived === 'true';
    ctx.body = { items: (await d.surveys.list(all)).map(presentSurvey) };
  });
  router.post('/surveys', allow(api(OPERATORS, 'none')), async (ctx) => {
    const input = parseInput(surveyInput, bodyOf(ctx));
    const s = await d.surveys.create(input, actorOf(ctx));
    ctx.status = 201;
    ctx.body = presentSurvey(s);
    auditNote(ctx, { targetId: String(s.id) });
  });
  router.get('/surveys/results', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const q = parseInput(resultsQuery, ctx.query);
    ctx.body = await d.results.results({ kind: q.kind, surveyId: q.surveyId ?? null, from: q.from, to: q.to, granularity: q.granularity }, viewerOf(ctx.state.principal));
  });
  router.get('/surveys/:id', allow(api(ANY_ROLE, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    ctx.body = presentSurvey(await d.surveys.get(id));
  });
  router.put('/surveys/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    const input = parseInput(surveyInput, bodyOf(ctx));
    const { before, after } = await d.surveys.update(id, input);
    auditNote(ctx, { before: presentSurvey(before) });
    ctx.body = presentSurvey(after);
  });
  router.post('/surveys/:id/status', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    const { status } = parseInput(surveyStatusInput, bodyOf(ctx));
    const { before, after } = await d.surveys.setStatus(id, status);
    auditNote(ctx, { before: { status: before.status }, after: { status: after.status } });
    ctx.body = presentSurvey(after);
  });
  router.post('/surveys/:id/send', allow(api(OPERATORS, 'all')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    const body = parseInput(sendBody, bodyOf(ctx));
    const s = await d.surveys.get(id);
    const ids = body.externalUserIds ?? (await audienceMembers(d, body.audience ?? ''));
    const counts = await d.sender.send(s, ids, d.ledger());
    ctx.body = { surveyId: id, customers: ids.length, ...counts };
    auditNote(ctx, { after: ctx.body });
  });
  router.get('/surveys/:id/answers', allow(api(OPERATORS, 'all')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    const q = parseInput(answersQuery, ctx.query);
    const s = await d.surveys.get(id);
    const page = await d.surveys.answersOfSurvey(s.id, q.from, q.to, q.page, q.pageSize);
    ctx.body = { items: page.items.map(presentAnswer), total: page.total, page: q.page, pageSize: q.pageSize };
  });
  router.get('/customers/:externalUserId/surveys', allow(api(ANY_ROLE, 'own')), async (ctx) => answersOfCustomer(ctx, d));
  router.post('/customers/:externalUserId/surveys/:id/link', allow(api(ANY_ROLE, 'own')), async (ctx) => link(ctx, d));
  router.post('/customers/:externalUserId/surveys/:id/send', allow(api(ANY_ROLE, 'own')), async (ctx) => sendOne(ctx, d));
  return router;
}

/** The sidebar's survey calls: the member acts as themself on the customers they follow (404 otherwise). */
export function surveysSidebarRouter(d: SurveyRouteDeps): Router {
  const router = new Router({ prefix: '/sidebar/api', sensitive: true });
  router.get('/surveys', allow(sidebarSession), async (ctx) => {
    ctx.body = { items: (await d.surveys.list(false)).filter((s) => s.status === 'active').map((s) => ({ id: s.id, name: s.name, rewardPoints: s.rewardPoints })) };
  });
  router.get('/customers/:externalUserId/surveys', allow(sidebarSession), async (ctx) => answersOfCustomer(ctx, d));
  router.post('/customers/:externalUserId/surveys/:id/link', allow(sidebarSession), async (ctx) => link(ctx, d));
  router.post('/customers/:externalUserId/surveys/:id/send', allow(sidebarSession), async (ctx) => sendOne(ctx, d));
  return router;
}

function actorOf(ctx: Context): string {
  const p = ctx.state.principal as { userid: string | null; tokenId: string | null };
  return p.userid ?? (p.tokenId ? `token:${p.tokenId}` : 'ADMIN_TOKEN');
}

async function audienceMembers(d: SurveyRouteDeps, audience: string): Promise<string[]> {
  const where = await d.customers.audienceWhere(audience, { role: 'admin', userid: null });
  const ids: string[] = [];
  let after = '';
  for (;;) {
    const page = await d.audienceIds(where, after, 1000);
    ids.push(...page);
    if (page.length < 1000) return ids;
    if (ids.length > 100_000) throw new ValidationError('受众超过 100000 位客户：请缩小范围，或使用按周期发送的问卷');
    after = page[page.length - 1];
  }
}

async function answersOfCustomer(ctx: Context, d: SurveyRouteDeps): Promise<void> {
  const { externalUserId } = parseInput(customerOnly, ctx.params);
  ctx.body = { items: (await d.surveys.answersOf(externalUserId, viewerOf(ctx.state.principal))).map(presentAnswer) };
}

async function link(ctx: Context, d: SurveyRouteDeps): Promise<void> {
  const { externalUserId, id } = parseInput(customerParams, ctx.params);
  const l = await d.surveys.linkFor(id, externalUserId, viewerOf(ctx.state.principal));
  // The URL holds the customer's token: the audit row keeps that a link was made, not the link.
  auditNote(ctx, { action: 'surveys.link', targetId: String(id), customerId: externalUserId, after: { period: l.invite.period, expiresAt: l.expiresAt.toISOString() } });
  ctx.body = { url: `${d.origin.get().replace(/\/$/, '')}${l.path}`, expiresAt: l.expiresAt.toISOString(), period: l.invite.period };
}

async function sendOne(ctx: Context, d: SurveyRouteDeps): Promise<void> {
  const { externalUserId, id } = parseInput(customerParams, ctx.params);
  await d.customers.getVisible(externalUserId, viewerOf(ctx.state.principal));
  const counts = await d.sender.send(await d.surveys.get(id), [externalUserId], d.ledger());
  ctx.body = { surveyId: id, ...counts };
  auditNote(ctx, { action: 'surveys.send', targetId: String(id), customerId: externalUserId, after: ctx.body });
}

const REFUSAL_STATUS = { malformed: 400, tampered: 403, expired: 410, gone: 404, closed: 410 } as const;
/**
 * `GET|POST /s/<token>`: the customer's survey page (docs/surveys.md §The customer's page). The token is the only
 * credential: signed, one customer's and one period's, expiring, checked before anything is read. Rate limited per
 * client address and per token like the points page (LOYALTY_PAGE_PER_MINUTE_*), 429 with a page.
 */
export function surveyPageRouter(d: SurveyRouteDeps & { perMinutePerAddress: number; perMinutePerToken: number }): Router {
  const router = new Router({ sensitive: true });
  const guard = new PublicPageGuard({ perMinutePerAddress: d.perMinutePerAddress, perMinutePerToken: d.perMinutePerToken, now: () => d.clock.now().getTime(), formAction: "'self'" });
  const policy = signedLinkRoute('the signed link is the credential: one customer and period, expiring, HMAC-checked before any read (docs/surveys.md §The signed link)');
  router.get('/s/:token', allow(policy), async (ctx) => {
    const token = String(ctx.params.token ?? '');
    if (!guard.admit(ctx, token, renderSurveyError('limited'))) return;
    const o = await d.surveys.open(token);
    if (!o.ok) {
      ctx.status = REFUSAL_STATUS[o.reason];
      ctx.body = renderSurveyError(o.reason);
      return;
    }
    ctx.body = renderSurveyPage(o.opened, d.tz);
  });
  router.post('/s/:token', allow(policy), async (ctx, next) => {
    const token = String(ctx.params.token ?? '');
    if (!guard.admit(ctx, token, renderSurveyError('limited'))) return;
    await formBody(ctx, next);
  }, async (ctx) => {
    const token = String(ctx.params.token ?? '');
    const out = await d.surveys.submit(token, formOf(ctx));
    ctx.type = 'text/html; charset=utf-8';
    if (out.ok) {
      ctx.body = renderSurveyThanks(out);
      return;
    }
    if (out.reason === 'invalid') {
      ctx.status = 400;
      ctx.body = renderSurveyPage(out.opened, d.tz, { values: out.values, errors: out.errors });
      return;
    }
    ctx.status = REFUSAL_STATUS[out.reason];
    ctx.body = renderSurveyError(out.reason);
  });
  return router;
}
