import Router from '@koa/router';
import { ANY_ROLE, OPERATORS, allow, api } from '../access.js';
import { z } from 'zod';
import type { BroadcastService } from '../../domain/broadcasts/broadcast.service.js';
import { BROADCAST_STATUSES } from '../../domain/broadcasts/broadcast.types.js';
import { broadcastInput } from '../../domain/broadcasts/broadcast.schema.js';
import type { Principal } from '../../domain/auth/api-token.service.js';
import { pageQuery, parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { presentBroadcast, presentCancelledBroadcast, presentCreatedBroadcast } from '../presenters/broadcast.presenter.js';
import { auditNote } from '../write-guards.js';

const idParam = z.object({ id: z.string().min(1).max(36) });
const listQuery = pageQuery.extend({ status: z.enum(BROADCAST_STATUSES).optional() });

/**
 * Broadcasts (定时群发): `GET/POST /api/v1/broadcasts`, `GET /api/v1/broadcasts/:id`, `POST …/:id/cancel`.
 * Operators and admins create and cancel; staff may list and read.
 */
export function broadcastsRouter(broadcasts: BroadcastService): Router {
  const router = new Router({ prefix: '/api/v1/broadcasts', sensitive: true });
  router.get('/', allow(api(ANY_ROLE, 'none')), async (ctx) => {
    const { items, total } = await broadcasts.list(parseInput(listQuery, ctx.query));
    ctx.body = { items: items.map(presentBroadcast), total };
  });
  router.get('/:id', allow(api(ANY_ROLE, 'none')), async (ctx) => {
    ctx.body = presentBroadcast(await broadcasts.get(parseInput(idParam, ctx.params).id));
  });
  router.post('/', allow(api(OPERATORS, 'none')), async (ctx) => {
    const principal = ctx.state.principal as Principal;
    const created = await broadcasts.create(parseInput(broadcastInput, bodyOf(ctx)), principal.userid ?? principal.role);
    ctx.status = 201;
    ctx.body = presentCreatedBroadcast(created);
  });
  router.post('/:id/cancel', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParam, ctx.params);
    // The audit log's before/after (docs/security.md §Audit log).
    auditNote(ctx, { before: presentBroadcast(await broadcasts.get(id)) });
    ctx.body = presentCancelledBroadcast(await broadcasts.cancel(id));
  });
  return router;
}
