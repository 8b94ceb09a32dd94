import Router from '@koa/router';
import { OPERATORS, allow, api } from '../access.js';
import { z } from 'zod';
import type { CareRuleService } from '../../domain/care/care-rule.service.js';
import type { CareRule } from '../../domain/care/care-rule.types.js';
import { careRuleInput, careRulePatch } from '../../domain/care/care-rule.schema.js';
import type { WinbackService } from '../../domain/campaigns/winback.service.js';
import { parseInput } from '../pagination.js';
import { auditNote } from '../write-guards.js';

const idParam = z.object({ id: z.string().min(1).max(36) });

/** A rule as the API shows it. */
export function presentCareRule(r: CareRule) {
  return {
    id: r.id,
    name: r.name,
    occasion: r.occasion,
    audience: r.audience,
    template: r.template,
    attachments: r.attachments,
    sendTime: r.sendTime,
    priority: r.priority,
    channel: r.channel,
    enabled: r.enabled,
    seedKey: r.seedKey,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

/** `GET/POST/PATCH /api/v1/care-rules` (care and win-back rules) and `GET /api/v1/care-rules/:id/stats`. */
export function careRulesRouter(rules: CareRuleService, winback: WinbackService): Router {
  const router = new Router({ prefix: '/api/v1/care-rules', sensitive: true });
  router.get('/', allow(api(OPERATORS, 'none')), async (ctx) => {
    const items = await rules.list();
    ctx.body = { items: items.map(presentCareRule), total: items.length };
  });
  router.get('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    ctx.body = presentCareRule(await rules.get(parseInput(idParam, ctx.params).id));
  });
  router.get('/:id/stats', allow(api(OPERATORS, 'none')), async (ctx) => {
    ctx.body = await winback.stats(await rules.get(parseInput(idParam, ctx.params).id));
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
