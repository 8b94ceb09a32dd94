import Router from '@koa/router';
import { ANY_ROLE, OPERATORS, allow, api } from '../access.js';
import { z } from 'zod';
import type { TagLibraryService } from '../../domain/tags/tag-library.service.js';
import { parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { presentTag, presentTagGroup } from '../presenters/tag.presenter.js';

/** `GET/POST /api/v1/tags`: the tag library, synced with WeCom's corp tags. */
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
  return router;
}
