import Router from '@koa/router';
import { z } from 'zod';
import { ANY_ROLE, OPERATORS, allow, api } from '../access.js';
import type { GroupService, GroupViewer } from '../../domain/groups/group.service.js';
import type { GroupFilter } from '../../domain/groups/group-chat.types.js';
import type { Principal } from '../../domain/auth/api-token.service.js';
import { pageQuery, parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { auditNote } from '../write-guards.js';
import { presentGroup, presentGroupDetail, presentGroupLabel } from '../presenters/group.presenter.js';

/** A comma-separated query list (`owner=a,b`), each item trimmed, empty ones dropped. */
const csv = z
  .string()
  .max(4000)
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));
const listQuery = pageQuery.extend({
  owner: csv.optional(),
  label: csv.optional(),
  name: z.string().trim().max(100).optional(),
  minMembers: z.coerce.number().int().min(0).max(100_000).optional(),
  maxMembers: z.coerce.number().int().min(0).max(100_000).optional(),
  status: z
    .string()
    .regex(/^[0-3](,[0-3])*$/, '状态须为 0–3，用逗号分隔')
    .transform((s) => s.split(',').map(Number))
    .optional(),
  dismissed: z.enum(['include', 'exclude']).default('exclude'),
});
const chatParams = z.object({ chatId: z.string().min(1).max(64) });
const labelParams = z.object({ id: z.string().min(1).max(36) });
const color = z.string().regex(/^(#[0-9a-fA-F]{6})?$/, '颜色须为 #RRGGBB');
const labelBody = z.object({ name: z.string().trim().min(1).max(50), color: color.optional() }).strict();
const labelPatch = z.object({ name: z.string().trim().min(1).max(50).optional(), color: color.optional() }).strict();
const assignBody = z
  .object({ chatIds: z.array(z.string().min(1).max(64)).min(1).max(1000), add: z.array(z.string().min(1).max(36)).max(50).default([]), remove: z.array(z.string().min(1).max(36)).max(50).default([]) })
  .strict();

function viewerOf(p: Principal): GroupViewer {
  return { role: p.role, userid: p.userid };
}

/** The filter a list query asks for (docs/groups.md §Filters). */
export function groupFilterOf(q: z.infer<typeof listQuery>): GroupFilter {
  return {
    ...(q.owner?.length ? { owners: q.owner } : {}),
    ...(q.label?.length ? { labelIds: q.label } : {}),
    ...(q.name ? { namePattern: q.name } : {}),
    ...(q.minMembers === undefined ? {} : { minMembers: q.minMembers }),
    ...(q.maxMembers === undefined ? {} : { maxMembers: q.maxMembers }),
    ...(q.status?.length ? { statuses: q.status } : {}),
    isDismissedIncluded: q.dismissed === 'include',
  };
}

/**
 * `/api/v1/groups`: customer groups with filters (owner, label, name, member count, status) and the counts they
 * select, a group's detail with members; staff see the groups they own. Labels are operators' to change.
 */
export function groupsRouter(groups: GroupService): Router {
  const router = new Router({ prefix: '/api/v1/groups', sensitive: true });
  router.get('/', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const q = parseInput(listQuery, ctx.query);
    const viewer = viewerOf(ctx.state.principal);
    const filter = groupFilterOf(q);
    const { items, total } = await groups.list(filter, q.page, q.pageSize, viewer);
    ctx.body = { items: items.map(presentGroup), total, counts: await groups.count(filter, viewer) };
  });
  router.get('/:chatId', allow(api(ANY_ROLE, 'own')), async (ctx) => {
    const { chatId } = parseInput(chatParams, ctx.params);
    ctx.body = presentGroupDetail(await groups.get(chatId, viewerOf(ctx.state.principal)));
  });
  return router;
}

/** `/api/v1/group-labels`: local group labels (WeCom has none, docs/groups.md §Labels) and putting them on groups. */
export function groupLabelsRouter(groups: GroupService): Router {
  const router = new Router({ prefix: '/api/v1/group-labels', sensitive: true });
  router.get('/', allow(api(ANY_ROLE, 'none')), async (ctx) => {
    const items = await groups.listLabels();
    ctx.body = { items: items.map(presentGroupLabel), total: items.length };
  });
  router.post('/', allow(api(OPERATORS, 'none')), async (ctx) => {
    ctx.status = 201;
    ctx.body = presentGroupLabel(await groups.createLabel(parseInput(labelBody, bodyOf(ctx))));
  });
  // Add and remove labels on groups: { chatIds, add: [labelId], remove: [labelId] }.
  router.post('/assign', allow(api(OPERATORS, 'none')), async (ctx) => {
    await groups.assignLabels(parseInput(assignBody, bodyOf(ctx)));
    ctx.status = 204;
  });
  router.patch('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(labelParams, ctx.params);
    const { before, after } = await groups.updateLabel(id, parseInput(labelPatch, bodyOf(ctx)));
    auditNote(ctx, { before: presentGroupLabel(before) });
    ctx.body = presentGroupLabel(after);
  });
  router.delete('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(labelParams, ctx.params);
    auditNote(ctx, { before: presentGroupLabel(await groups.deleteLabel(id)) });
    ctx.status = 204;
  });
  return router;
}
