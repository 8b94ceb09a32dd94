import Router from '@koa/router';
import { ANY_ROLE, OPERATORS, allow, api } from '../access.js';
import { z } from 'zod';
import { quickReplyInput, quickReplyPatch, type QuickReplyService } from '../../domain/quick-replies/quick-reply.service.js';
import { pageQuery, parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { presentQuickReply } from '../presenters/quick-reply.presenter.js';
import { auditNote } from '../write-guards.js';

const idParams = z.object({ id: z.string().min(1).max(36) });
const listQuery = pageQuery.extend({ category: z.string().trim().min(1).max(32).optional() });

/**
 * `/api/v1/quick-replies`: the sidebar's quick replies (快捷回复). Any token may read them (staff use them);
 * operators and admins create, change and delete.
 */
export function quickRepliesRouter(replies: QuickReplyService): Router {
  const router = new Router({ prefix: '/api/v1/quick-replies', sensitive: true });
  router.get('/', allow(api(ANY_ROLE, 'none')), async (ctx) => {
    const { items, total } = await replies.list(parseInput(listQuery, ctx.query));
    ctx.body = { items: items.map(presentQuickReply), total };
  });
  router.get('/:id', allow(api(ANY_ROLE, 'none')), async (ctx) => {
    ctx.body = presentQuickReply(await replies.get(parseInput(idParams, ctx.params).id));
  });
  router.post('/', allow(api(OPERATORS, 'none')), async (ctx) => {
    ctx.status = 201;
    ctx.body = presentQuickReply(await replies.create(parseInput(quickReplyInput, bodyOf(ctx))));
  });
  router.patch('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    const changes = parseInput(quickReplyPatch, bodyOf(ctx));
    // The audit log's before/after (docs/security.md §Audit log).
    auditNote(ctx, { before: presentQuickReply(await replies.get(id)) });
    ctx.body = presentQuickReply(await replies.update(id, changes));
  });
  router.delete('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    auditNote(ctx, { before: presentQuickReply(await replies.get(id)) });
    await replies.remove(id);
    ctx.status = 204;
  });
  return router;
}
