import Router from '@koa/router';
import { ANY_ROLE, allow, api } from '../access.js';
import { z } from 'zod';
import type { CustomerArchive, CustomerService, Viewer } from '../../domain/customers/customer.service.js';
import type { RepurchaseService } from '../../domain/repurchase/repurchase.service.js';
import type { Principal } from '../../domain/auth/api-token.service.js';
import { pageQuery, parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { principalKey } from '../../domain/customers/search-budget.js';
import { TooManyRequestsError } from '../../shared/errors.js';
import { presentArchive, presentCustomerItem, presentTags } from '../presenters/customer.presenter.js';
import { presentCustomerGroup } from '../presenters/group.presenter.js';
import type { GroupService } from '../../domain/groups/group.service.js';

const listQuery = pageQuery.extend({ audience: z.string().max(4000).optional(), q: z.string().trim().max(100).optional() });
const idParams = z.object({ externalUserId: z.string().min(1).max(64) });
const patchBody = z
  .object({
    birthday: z
      .object({
        calendar: z.enum(['solar', 'lunar']),
        month: z.number().int().min(1).max(12),
        day: z.number().int().min(1).max(31),
        year: z.number().int().min(1900).max(2100).nullish(),
        leapMonth: z.boolean().optional(),
      })
      .nullable()
      .optional(),
    phone: z.string().trim().max(32).nullable().optional(),
    note: z.string().max(2000).nullable().optional(),
    region: z.string().max(64).nullable().optional(),
    optedOut: z.boolean().optional(),
  })
  .strict();
/** `{ add: [tagName], remove: [tagName] }`, shared with the sidebar API. */
export const tagsBody = z.object({ add: z.array(z.string().trim().min(1).max(61)).max(50).default([]), remove: z.array(z.string().trim().min(1).max(61)).max(50).default([]) });

/** The viewer behind a request, with the key its search budget is counted under (docs/security.md §Phone search). */
export function viewerOf(principal: Principal): Viewer {
  return { role: principal.role, userid: principal.userid, principal: principalKey(principal) };
}

/** `/api/v1/customers`: list with audience and search, archive, edits, manual tags. Staff see their own customers. */
export function customersRouter(customers: CustomerService, repurchase?: Pick<RepurchaseService, 'forCustomer'>, groups?: Pick<GroupService, 'groupsOfCustomer'>): Router {
  const router = new Router({ prefix: '/api/v1/customers', sensitive: true });
  // The archive with the predicted next order (docs/repurchase.md §API), null without one, and the customer's groups,
  // current and past (docs/groups.md §Archive).
  const withPrediction = async (archive: CustomerArchive, viewer: Viewer) => ({
    ...presentArchive(archive, viewer),
    repurchase: repurchase ? await repurchase.forCustomer(archive.customer.externalUserId) : null,
    groups: groups ? (await groups.groupsOfCustomer(archive.customer.externalUserId)).map(presentCustomerGroup) : [],
  });
  router.get('/', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const q = parseInput(listQuery, ctx.query);
    const { items, total } = await customers.list(q, viewerOf(ctx.state.principal)).catch((err: unknown) => {
      // Over the search budget: say when to come back.
      if (err instanceof TooManyRequestsError) ctx.set('Retry-After', String(err.retryAfterSeconds));
      throw err;
    });
    ctx.body = { items: items.map(presentCustomerItem), total };
  });
  router.get('/:externalUserId', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const { externalUserId } = parseInput(idParams, ctx.params);
    const viewer = viewerOf(ctx.state.principal);
    ctx.body = await withPrediction(await customers.getArchive(externalUserId, viewer), viewer);
  });
  router.patch('/:externalUserId', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const { externalUserId } = parseInput(idParams, ctx.params);
    const viewer = viewerOf(ctx.state.principal);
    ctx.body = await withPrediction(await customers.patch(externalUserId, parseInput(patchBody, bodyOf(ctx)), viewer), viewer);
  });
  router.post('/:externalUserId/tags', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const { externalUserId } = parseInput(idParams, ctx.params);
    ctx.body = { tags: presentTags(await customers.changeTags(externalUserId, parseInput(tagsBody, bodyOf(ctx)), viewerOf(ctx.state.principal))) };
  });
  return router;
}
