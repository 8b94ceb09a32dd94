import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { ANY_ROLE, OPERATORS, allow, api, sidebarSession } from '../access.js';
import type { FeedbackService } from '../../domain/feedback/feedback.service.js';
import { feedbackRuleInput, feedbackRulePatch } from '../../domain/feedback/feedback-rule.service.js';
import { TICKET_SOURCES, TICKET_STATUSES } from '../../domain/feedback/feedback.types.js';
import type { Principal } from '../../domain/auth/api-token.service.js';
import { pageQuery, parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { auditNote } from '../write-guards.js';
import { presentFeedbackRule, presentTicket, presentTicketEvent } from '../presenters/feedback.presenter.js';
import { viewerOf } from './customers.router.js';

const customerParams = z.object({ externalUserId: z.string().min(1).max(64) });
const ticketParams = z.object({ id: z.coerce.number({ message: '工单编号须为数字' }).int().min(1).max(Number.MAX_SAFE_INTEGER) });
const ruleParams = z.object({ id: z.string().min(1).max(36) });
const requestId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, '请求编号须为 8–64 位字母、数字、- 或 _（重试时沿用同一个）');
const category = z.string().trim().min(1).max(32).nullish();
const recordBody = z.object({ text: z.string().trim().min(1, '请填写客户反馈的内容').max(500), category, requestId }).strict();
const contactBody = z.object({ note: z.string().trim().max(500).nullish() }).strict();
const resolveBody = z.object({ note: z.string().trim().min(1, '请填写处理结果').max(500), category }).strict();
const listQuery = pageQuery.extend({
  status: z.enum(TICKET_STATUSES).optional(),
  source: z.enum(TICKET_SOURCES).optional(),
  category: z.string().trim().min(1).max(32).optional(),
  owner: z.string().trim().min(1).max(64).optional(),
  externalUserId: z.string().min(1).max(64).optional(),
  overdue: z.enum(['true', 'false']).optional(),
});
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, '日期格式须为 YYYY-MM-DD');
const analysisQuery = z.object({ from: date.optional(), to: date.optional() });

/** Who a ticket's event names: the member, the token, or ADMIN_TOKEN. */
function actorOf(p: Principal): string {
  if (p.userid) return p.userid;
  if (p.tokenId) return `token:${p.tokenId}`;
  return 'ADMIN_TOKEN';
}

/**
 * 客户反馈处理 API (docs/feedback.md §API): tickets for staff (their own customers') and operators (all), the
 * lifecycle writes (audit-logged), the analysis and the category rules (operators).
 */
export function feedbackApiRouter(feedback: FeedbackService): Router {
  const router = new Router({ prefix: '/api/v1', sensitive: true });
  router.get('/feedback/tickets', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const q = parseInput(listQuery, ctx.query);
    const { items, total } = await feedback.list(
      { ...q, ownerUserid: q.owner, isOverdue: q.overdue === 'true' ? true : undefined },
      viewerOf(ctx.state.principal),
    );
    ctx.body = { items: items.map(presentTicket), total };
  });
  router.post('/feedback/tickets', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const body = parseInput(recordBody.extend({ externalUserId: customerParams.shape.externalUserId }), bodyOf(ctx));
    await record(ctx, feedback, body.externalUserId, body);
  });
  router.get('/feedback/tickets/:id', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const { ticket, events } = await feedback.get(parseInput(ticketParams, ctx.params).id, viewerOf(ctx.state.principal));
    ctx.body = { ...presentTicket(ticket), events: events.map(presentTicketEvent) };
  });
  router.post('/feedback/tickets/:id/contact', allow(api(ANY_ROLE, 'own')), async (ctx) => contact(ctx, feedback));
  router.post('/feedback/tickets/:id/resolve', allow(api(ANY_ROLE, 'own')), async (ctx) => resolve(ctx, feedback));
  router.get('/customers/:externalUserId/feedback', allow(api(ANY_ROLE, 'own')), async (ctx) => customerTickets(ctx, feedback));
  router.get('/feedback/analysis', allow(api(OPERATORS, 'all')), async (ctx) => {
    ctx.body = await feedback.analysis(parseInput(analysisQuery, ctx.query));
  });
  router.get('/feedback/rules', allow(api(OPERATORS, 'none')), async (ctx) => {
    const items = await feedback.rules.list();
    ctx.body = { items: items.map(presentFeedbackRule), total: items.length, categories: await feedback.rules.categories() };
  });
  router.post('/feedback/rules', allow(api(OPERATORS, 'none')), async (ctx) => {
    ctx.status = 201;
    ctx.body = presentFeedbackRule(await feedback.rules.create(parseInput(feedbackRuleInput, bodyOf(ctx))));
  });
  router.patch('/feedback/rules/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(ruleParams, ctx.params);
    const changes = parseInput(feedbackRulePatch, bodyOf(ctx));
    auditNote(ctx, { action: 'feedback.rules.update', before: presentFeedbackRule(await feedback.rules.get(id)) });
    ctx.body = presentFeedbackRule(await feedback.rules.update(id, changes));
  });
  router.delete('/feedback/rules/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(ruleParams, ctx.params);
    auditNote(ctx, { action: 'feedback.rules.delete', before: presentFeedbackRule(await feedback.rules.get(id)) });
    await feedback.rules.remove(id);
    ctx.status = 204;
  });
  return router;
}

/** The sidebar's feedback calls: the staff member acts as themself on the customers they follow (404 otherwise). */
export function feedbackSidebarRouter(feedback: FeedbackService): Router {
  const router = new Router({ prefix: '/sidebar/api', sensitive: true });
  router.get('/customers/:externalUserId/feedback', allow(sidebarSession), async (ctx) => customerTickets(ctx, feedback));
  router.post('/customers/:externalUserId/feedback', allow(sidebarSession), async (ctx) => {
    const { externalUserId } = parseInput(customerParams, ctx.params);
    await record(ctx, feedback, externalUserId, parseInput(recordBody, bodyOf(ctx)));
  });
  router.post('/feedback/tickets/:id/contact', allow(sidebarSession), async (ctx) => contact(ctx, feedback));
  router.post('/feedback/tickets/:id/resolve', allow(sidebarSession), async (ctx) => resolve(ctx, feedback));
  return router;
}

async function customerTickets(ctx: Context, feedback: FeedbackService): Promise<void> {
  const { externalUserId } = parseInput(customerParams, ctx.params);
  const { items, categories } = await feedback.forCustomer(externalUserId, viewerOf(ctx.state.principal));
  ctx.body = { items: items.map((t) => ({ ...presentTicket(t), events: t.events.map(presentTicketEvent) })), total: items.length, categories };
}

async function record(ctx: Context, feedback: FeedbackService, ext: string, body: { text: string; category?: string | null; requestId: string }): Promise<void> {
  const { ticket, outcome } = await feedback.record(ext, body, viewerOf(ctx.state.principal), actorOf(ctx.state.principal));
  auditNote(ctx, { action: 'feedback.record', targetId: String(ticket.id), customerId: ext, after: { ticketId: ticket.id, outcome, status: ticket.status, category: ticket.category } });
  ctx.status = outcome === 'opened' ? 201 : 200;
  ctx.body = { ...presentTicket(ticket), outcome };
}

async function contact(ctx: Context, feedback: FeedbackService): Promise<void> {
  const { id } = parseInput(ticketParams, ctx.params);
  const body = parseInput(contactBody, bodyOf(ctx) ?? {});
  const { ticket, changed } = await feedback.contact(id, body, viewerOf(ctx.state.principal), actorOf(ctx.state.principal));
  auditNote(ctx, changed ? { customerId: ticket.externalUserId, before: { status: 'open' }, after: { status: ticket.status } } : { skip: true });
  ctx.body = presentTicket(ticket);
}

async function resolve(ctx: Context, feedback: FeedbackService): Promise<void> {
  const { id } = parseInput(ticketParams, ctx.params);
  const body = parseInput(resolveBody, bodyOf(ctx));
  const ticket = await feedback.resolve(id, body, viewerOf(ctx.state.principal), actorOf(ctx.state.principal));
  auditNote(ctx, { customerId: ticket.externalUserId, after: { status: ticket.status, category: ticket.category, note: ticket.resolutionNote } });
  ctx.body = presentTicket(ticket);
}
