import Router from '@koa/router';
import { z } from 'zod';
import { OPERATORS, allow, api } from '../access.js';
import type { TagLibraryService } from '../../domain/tags/tag-library.service.js';
import type { TagGroup } from '../../domain/tags/tag.types.js';
import { parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { auditNote } from '../write-guards.js';

const idParams = z.object({ id: z.string().min(1).max(64) });

function presentGroup(g: TagGroup) {
  return { id: g.id, name: g.name, order: g.sortOrder, source: g.source };
}

/**
 * `/api/v1/tag-groups`: rename and delete a group of the tag library. A WeCom group changes in WeCom first
 * (edit_corp_tag / del_corp_tag); a local group only here. The library itself is read through `/api/v1/tags`.
 */
export function tagGroupsRouter(library: TagLibraryService): Router {
  const router = new Router({ prefix: '/api/v1/tag-groups', sensitive: true });
  // What a delete would touch, for the console's confirmation: live tags, and customers carrying any of them (each
  // once; summing the per-tag counts would count a customer with two of the group's tags twice).
  router.get('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    ctx.body = { ...presentGroup(await library.liveGroup(id)), ...(await library.groupReach(id)) };
  });
  router.patch('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    const body = parseInput(z.object({ name: z.string().trim().min(1).max(30) }), bodyOf(ctx));
    const { before, after } = await library.renameGroup(id, body.name);
    // The audit log's before/after (docs/security.md §Audit log).
    auditNote(ctx, { before: presentGroup(before) });
    ctx.body = presentGroup(after);
  });
  router.delete('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    const { group, tags, customers } = await library.deleteGroup(id);
    // What the delete took: the group, how many tags went with it, and how many customers carried one of them.
    auditNote(ctx, { before: { ...presentGroup(group), tags, customers } });
    ctx.status = 204;
  });
  return router;
}
