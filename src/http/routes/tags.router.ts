import Router from '@koa/router';
import { ANY_ROLE, OPERATORS, allow, api } from '../access.js';
import { z } from 'zod';
import type { TagLibraryService } from '../../domain/tags/tag-library.service.js';
import { parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { presentTag, presentTagGroup } from '../presenters/tag.presenter.js';
import { auditNote } from '../write-guards.js';

const idParams = z.object({ id: z.string().min(1).max(64) });

/** `/api/v1/tags`: the tag library, synced with WeCom's corp tags (create, rename and delete go to WeCom first). */
export function tagsRouter(library: TagLibraryService): Router {
  const router = new Router({ prefix: '/api/v1/tags', sensitive: true });
  router.get('/', allow(api(ANY_ROLE, 'none')), async (ctx) => {
    const lib = await library.listLibrary();
    ctx.body = { items: lib.groups.map((g) => presentTagGroup(g, lib.tags)), total: lib.groups.length };
  });
  router.post('/', allow(api(OPERATORS, 'none')), async (ctx) => {
    const body = parseInput(z.object({ name: z.string().trim().min(1).max(30), group: z.string().trim().min(1).max(30).optional(), local: z.boolean().default(false) }), bodyOf(ctx));
    ctx.status = 201;
    ctx.body = presentTag(await library.createTag({ name: body.name, group: body.group, isLocal: body.local }));
  });
  router.get('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const tag = await library.liveTag(parseInput(idParams, ctx.params).id);
    ctx.body = { ...presentTag(tag), customers: await library.customerCount(tag.id) };
  });
  router.patch('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    const body = parseInput(z.object({ name: z.string().trim().min(1).max(30) }), bodyOf(ctx));
    const { before, after } = await library.renameTag(id, body.name);
    // The audit log's before/after (docs/security.md §Audit log).
    auditNote(ctx, { before: presentTag(before) });
    ctx.body = presentTag(after);
  });
  router.delete('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    const customers = await library.customerCount(id);
    const tag = await library.deleteTag(id);
    auditNote(ctx, { before: { ...presentTag(tag), customers } });
    ctx.status = 204;
  });
  return router;
}
