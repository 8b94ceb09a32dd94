import Router from '@koa/router';
import { z } from 'zod';
import { OPERATORS, allow, api } from '../access.js';
import type { GroupBroadcastService } from '../../domain/group-broadcasts/group-broadcast.service.js';
import { groupBroadcastInput, groupBroadcastPreviewInput, groupBroadcastStatus } from '../../domain/group-broadcasts/group-broadcast.schema.js';
import type { Principal } from '../../domain/auth/api-token.service.js';
import { pageQuery, parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { auditNote } from '../write-guards.js';
import { principalLabel } from './erasure.router.js';
import { presentGroupBroadcast, presentGroupBroadcastListItem } from '../presenters/group-broadcast.presenter.js';

const idParam = z.object({ id: z.string().min(1).max(36) });
const remindBody = z.object({ userid: z.string().trim().min(1).max(64).optional() }).default({});
const listQuery = pageQuery.extend({ status: groupBroadcastStatus.optional() });

/**
 * 客户群群发: `POST /api/v1/group-broadcasts/preview`, `GET/POST /api/v1/group-broadcasts`,
 * `GET /api/v1/group-broadcasts/:id` (per-owner confirmation), `POST …/:id/remind` and `POST …/:id/cancel`. Operators and admins only: the
 * answers name groups and their owners (no customer data).
 */
export function groupBroadcastsRouter(service: GroupBroadcastService): Router {
  const router = new Router({ prefix: '/api/v1/group-broadcasts', sensitive: true });
  // A read: how many groups, members and owners (tasks) the filter selects, and the quota it would use.
  router.post('/preview', allow(api(OPERATORS, 'none')), async (ctx) => {
    auditNote(ctx, { skip: true });
    ctx.body = await service.preview(parseInput(groupBroadcastPreviewInput, bodyOf(ctx)).filter);
  });
  router.get('/', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { items, total } = await service.list(parseInput(listQuery, ctx.query));
    ctx.body = { items: items.map(presentGroupBroadcastListItem), total };
  });
  router.post('/', allow(api(OPERATORS, 'none')), async (ctx) => {
    const principal = ctx.state.principal as Principal;
    const created = await service.create(parseInput(groupBroadcastInput, bodyOf(ctx)), principal.userid ?? principal.role);
    ctx.status = 201;
    ctx.body = presentGroupBroadcast(created);
  });
  router.get('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    ctx.body = presentGroupBroadcast(await service.get(parseInput(idParam, ctx.params).id));
  });
  // 提醒成员群发 for the owners who have not sent their task (docs/wecom-protocol.md §Reminding members of a mass message).
  router.post('/:id/remind', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParam, ctx.params);
    const { userid } = parseInput(remindBody, bodyOf(ctx));
    const outcome = await service.remind(id, { userid, requestedBy: principalLabel(ctx.state.principal as Principal) });
    auditNote(ctx, { after: { userid: userid ?? null, ...outcome } });
    ctx.body = outcome;
  });
  // 取消群发: the groups not submitted are cancelled and tasks owners have not sent are withdrawn in WeCom
  // (docs/groups.md §Cancelling a group broadcast). The audit log's before/after (docs/security.md §Audit log).
  router.post('/:id/cancel', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParam, ctx.params);
    auditNote(ctx, { before: presentGroupBroadcast(await service.get(id)) });
    const cancelled = await service.cancel(id);
    ctx.body = { ...presentGroupBroadcast(cancelled), cancellation: cancelled.cancellation };
  });
  return router;
}
