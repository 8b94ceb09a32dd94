import Router from '@koa/router';
import { ANY_ROLE, OPERATORS, allow, api } from '../access.js';
import { z } from 'zod';
import type { TagLibraryService } from '../../domain/tags/tag-library.service.js';
import { parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { presentTag, presentTagGroup } from '../presenters/tag.presenter.js';
import { auditNote } from '../write-guards.js';

const idParams = z.object({ id: z.string().min(1).max(64) });
/** The most tags one count request takes: a page of the library (the console asks per page of tags it shows). */
export const MAX_COUNT_TAGS = 100;
const countsQuery = z.object({
  ids: z
    .string({ message: '请提供标签 ID（ids）' })
    .transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x !== ''))
    .pipe(
      z
        .array(z.string().max(64, '标签 ID 最长 64 个字符'))
        .min(1, '请提供标签 ID（ids）')
        .max(MAX_COUNT_TAGS, `一次最多统计 ${MAX_COUNT_TAGS} 个标签`),
    ),
});

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
  // Before /:id, which would take "counts" for a tag id. Operators only: the counts are over every customer.
  router.get('/counts', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { ids } = parseInput(countsQuery, ctx.query);
    ctx.body = { counts: await library.customerCounts(ids) };
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
