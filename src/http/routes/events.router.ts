import Router from '@koa/router';
import { ADMINS, OPERATORS, allow, api } from '../access.js';
import { z } from 'zod';
import type { InboxService } from '../../domain/inbox/inbox.service.js';
import { pageQuery, parseInput } from '../pagination.js';
import { presentEvent } from '../presenters/event.presenter.js';

const listQuery = pageQuery.extend({
  status: z.enum(['pending', 'running', 'done', 'failed', 'ignored']).optional(),
  // `limit` is the contract's older name for pageSize.
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

/** `GET /api/v1/events`, `GET /api/v1/events/:id`, `POST /api/v1/events/:id/replay`. */
export function eventsRouter(inbox: InboxService): Router {
  const router = new Router({ prefix: '/api/v1/events', sensitive: true });
  router.get('/', allow(api(OPERATORS, 'all')), async (ctx) => {
    const q = parseInput(listQuery, ctx.query);
    const { items, total } = await inbox.list({ status: q.status, page: q.page, pageSize: q.limit ?? q.pageSize });
    ctx.body = { items: items.map(presentEvent), total };
  });
  router.post('/:id/replay', allow(api(ADMINS, 'all')), async (ctx) => {
    const { id } = parseInput(z.object({ id: z.coerce.number().int().positive() }), ctx.params);
    ctx.body = presentEvent(await inbox.replay(id));
  });
  return router;
}
