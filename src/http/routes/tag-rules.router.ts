import Router from '@koa/router';
import { OPERATORS, allow, api } from '../access.js';
import { z } from 'zod';
import { tagRuleInput, tagRulePatch, type TagRuleService } from '../../domain/tags/tag-rule.service.js';
import { parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { presentTagRule } from '../presenters/tag.presenter.js';
import { auditNote } from '../write-guards.js';

const idParams = z.object({ id: z.string().min(1).max(36) });

/** `/api/v1/tag-rules`: keyword and behaviour tagging rules. */
export function tagRulesRouter(rules: TagRuleService): Router {
  const router = new Router({ prefix: '/api/v1/tag-rules', sensitive: true });
  router.get('/', allow(api(OPERATORS, 'none')), async (ctx) => {
    const items = await rules.list();
    ctx.body = { items: items.map(presentTagRule), total: items.length };
  });
  router.post('/', allow(api(OPERATORS, 'none')), async (ctx) => {
    ctx.status = 201;
    ctx.body = presentTagRule(await rules.create(parseInput(tagRuleInput, bodyOf(ctx))));
  });
  router.post('/test', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { text } = parseInput(z.object({ text: z.string().min(1, '请输入要测试的消息').max(2000) }), bodyOf(ctx));
    // A dry run: nothing is written, so nothing to audit.
    auditNote(ctx, { skip: true });
    const fired = await rules.testKeywordRules(text);
    ctx.body = { items: fired.map((r) => ({ id: r.id, name: r.name, pattern: r.pattern, matchType: r.matchType, tags: r.tags })), total: fired.length };
  });
  router.get('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    ctx.body = presentTagRule(await rules.get(parseInput(idParams, ctx.params).id));
  });
  router.patch('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    const changes = parseInput(tagRulePatch, bodyOf(ctx));
    // The audit log's before/after (docs/security.md §Audit log).
    auditNote(ctx, { before: presentTagRule(await rules.get(id)) });
    ctx.body = presentTagRule(await rules.update(id, changes));
  });
  router.delete('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    auditNote(ctx, { before: presentTagRule(await rules.get(id)) });
    await rules.remove(id);
    ctx.status = 204;
  });
  return router;
}
