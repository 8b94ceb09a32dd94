import Router from '@koa/router';
import { OPERATORS, allow, api } from '../access.js';
import { z } from 'zod';
import { NotFoundError } from '../../shared/errors.js';
import type { CareRuleService } from '../../domain/care/care-rule.service.js';
import type { CareRule } from '../../domain/care/care-rule.types.js';
import { careRuleInput, careRulePatch } from '../../domain/care/care-rule.schema.js';
import type { WinbackService } from '../../domain/campaigns/winback.service.js';
import { CALENDAR_MAX_DAYS, type CareCalendarService } from '../../domain/care/care-calendar.service.js';
import { isLocalDate } from '../../shared/dates.js';
import { pageQuery, parseInput } from '../pagination.js';
import { auditNote } from '../write-guards.js';

const idParam = z.object({ id: z.string().min(1).max(36) });
const localDay = z.string().refine(isLocalDate, '应为日期 YYYY-MM-DD / must be a date YYYY-MM-DD');
const calendarQuery = z.object({
  from: localDay.optional(),
  days: z.coerce.number().int().min(1).max(CALENDAR_MAX_DAYS).default(30),
  rule: z.string().min(1).max(36).optional(),
});
const calendarDayParams = z.object({ date: localDay });
const calendarCustomersQuery = pageQuery.extend({ rule: z.string().min(1).max(36) });
const statsQuery = z.object({ from: localDay.optional(), to: localDay.optional() });

/** A rule as the API shows it. */
export function presentCareRule(r: CareRule) {
  return {
    id: r.id,
    name: r.name,
    occasion: r.occasion,
    audience: r.audience,
    template: r.template,
    attachments: r.attachments,
    contentIds: r.contentIds,
    sendTime: r.sendTime,
    priority: r.priority,
    channel: r.channel,
    enabled: r.enabled,
    holdoutPercent: r.holdoutPercent,
    seedKey: r.seedKey,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

/**
 * `GET/POST/PATCH /api/v1/care-rules` (care and win-back rules), `GET /api/v1/care-rules/:id/stats` (a win-back
 * campaign's funnel), and the care calendar: `GET /api/v1/care-rules/calendar` (per day, what each rule would plan)
 * and `GET /api/v1/care-rules/calendar/:date/customers?rule=` (who, paged).
 */
export function careRulesRouter(rules: CareRuleService, winback: WinbackService, calendar: CareCalendarService): Router {
  const router = new Router({ prefix: '/api/v1/care-rules', sensitive: true });
  // Before `/:id`, which would take `calendar` for an id.
  router.get('/calendar', allow(api(OPERATORS, 'none')), async (ctx) => {
    const q = parseInput(calendarQuery, ctx.query);
    const from = q.from ?? calendar.today();
    const { rules: shown, days } = await calendar.days({ from, days: q.days, ruleId: q.rule });
    const s = calendar.describeSettings();
    ctx.body = {
      from,
      days: q.days,
      timezone: s.tz,
      settings: { careTime: s.careTime, quietHours: { start: s.quietHours.start, end: s.quietHours.end }, ...s.caps },
      rules: shown.map((r) => ({ id: r.id, name: r.name, occasion: r.occasion, priority: r.priority, sendTime: r.sendTime, channel: r.channel })),
      items: days,
    };
  });
  router.get('/calendar/:date/customers', allow(api(OPERATORS, 'all')), async (ctx) => {
    const { date } = parseInput(calendarDayParams, ctx.params);
    const q = parseInput(calendarCustomersQuery, ctx.query);
    const { items, total, rule } = await calendar.customers({ date, ruleId: q.rule, page: q.page, pageSize: q.pageSize });
    if (!rule) throw new NotFoundError(`没有启用的关怀规则 ${q.rule} / no enabled care rule ${q.rule}`);
    ctx.body = { date, rule: { id: rule.id, name: rule.name }, items, total };
  });
  router.get('/', allow(api(OPERATORS, 'none')), async (ctx) => {
    const items = await rules.list();
    ctx.body = { items: items.map(presentCareRule), total: items.length };
  });
  router.get('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    ctx.body = presentCareRule(await rules.get(parseInput(idParam, ctx.params).id));
  });
  router.get('/:id/stats', allow(api(OPERATORS, 'none')), async (ctx) => {
    const period = parseInput(statsQuery, ctx.query);
    ctx.body = await winback.stats(await rules.get(parseInput(idParam, ctx.params).id), period);
  });
  router.post('/', allow(api(OPERATORS, 'none')), async (ctx) => {
    ctx.status = 201;
    ctx.body = presentCareRule(await rules.create(parseInput(careRuleInput, ctx.request.body)));
  });
  router.patch('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParam, ctx.params);
    const changes = parseInput(careRulePatch, ctx.request.body);
    // The audit log's before/after (docs/security.md §Audit log).
    auditNote(ctx, { before: presentCareRule(await rules.get(id)) });
    ctx.body = presentCareRule(await rules.update(id, changes));
  });
  return router;
}
