import Router from '@koa/router';
import { z } from 'zod';
import { ANY_ROLE, OPERATORS, allow, api } from '../access.js';
import { contentInput, contentPatch, type ContentService } from '../../domain/content/content.service.js';
import type { ContentMediaService } from '../../domain/content/content-media.service.js';
import { pageQuery, parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { auditNote } from '../write-guards.js';
import { isMultipart, readMultipart } from '../multipart.js';
import { presentContent } from '../presenters/content.presenter.js';
import { invalidField, ValidationError } from '../../shared/errors.js';
import type { Principal } from '../../domain/auth/api-token.service.js';
import type { Clock } from '../../shared/clock.js';

const idParams = z.object({ id: z.string().min(1).max(36) });
const listQuery = pageQuery.extend({
  q: z.string().trim().min(1).max(64).optional(),
  group: z.string().trim().min(1).max(32).optional(),
  tag: z.string().trim().min(1).max(32).optional(),
  kind: z.enum(['text', 'image', 'link', 'miniprogram', 'file', 'video']).optional(),
  quickReply: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  order: z.enum(['sort', 'uses']).optional(),
});
const checkBody = z.object({ contentIds: z.array(z.string().min(1).max(36)).min(1).max(50) }).strict();

function principalLabel(p: Principal): string {
  return p.userid ?? (p.tokenId ? `token:${p.tokenId}` : p.role);
}

/** The `data` field of a multipart upload: the item's fields as JSON. */
function dataField(fields: Record<string, string>): unknown {
  if (fields.data === undefined) return {};
  try {
    return JSON.parse(fields.data) as unknown;
  } catch {
    throw invalidField('data', 'data 字段须为 JSON');
  }
}

/**
 * `/api/v1/content`: 素材库 (docs/content.md). Everyone reads (staff compose from it); operators and admins create,
 * change and delete. A create with a file is multipart/form-data: the item's fields as JSON in `data`, the file in
 * `file`; without one it is JSON.
 */
export function contentRouter(d: { content: ContentService; media: Pick<ContentMediaService, 'isFresh'>; clock: Clock; maxBytes: number }): Router {
  const router = new Router({ prefix: '/api/v1/content', sensitive: true });
  const present = (c: Parameters<typeof presentContent>[0]) => presentContent(c, d.clock.now(), (x, at) => d.media.isFresh(x, at));
  router.get('/', allow(api(ANY_ROLE, 'none')), async (ctx) => {
    const { items, total } = await d.content.list(parseInput(listQuery, ctx.query));
    ctx.body = { items: items.map(present), total };
  });
  // Groups and tags with their counts, and the uploadimg budget used today and this month.
  router.get('/facets', allow(api(ANY_ROLE, 'none')), async (ctx) => {
    ctx.body = await d.content.facets();
  });
  // A read: whether these items make one sendable message (the composers' save-time check).
  router.post('/check', allow(api(ANY_ROLE, 'none')), async (ctx) => {
    auditNote(ctx, { skip: true });
    const items = await d.content.checkMessage(parseInput(checkBody, bodyOf(ctx)).contentIds);
    ctx.body = { ok: true, attachments: items.filter((i) => i.kind !== 'text').length };
  });
  router.get('/:id', allow(api(ANY_ROLE, 'none')), async (ctx) => {
    ctx.body = present(await d.content.get(parseInput(idParams, ctx.params).id));
  });
  // The stored file, for previews. Only its sniffed type is served, and never as a page (nosniff, sandboxed CSP).
  router.get('/:id/file', allow(api(ANY_ROLE, 'none')), async (ctx) => {
    const file = await d.content.readFile(parseInput(idParams, ctx.params).id);
    const inline = /^(image\/(png|jpeg)|video\/mp4)$/.test(file.type);
    ctx.set('Content-Type', file.type);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Content-Security-Policy', "default-src 'none'; sandbox");
    ctx.set('Cache-Control', 'private, max-age=300');
    ctx.set('Content-Disposition', `${inline ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(file.name)}`);
    ctx.body = file.data;
  });
  router.post('/', allow(api(OPERATORS, 'none')), async (ctx) => {
    const principal = ctx.state.principal as Principal;
    let created;
    if (isMultipart(ctx)) {
      const body = await readMultipart(ctx, d.maxBytes);
      const input = parseInput(contentInput, dataField(body.fields));
      created = await d.content.create(input, body.file ? { name: body.file.name, data: body.file.data } : null, principalLabel(principal));
    } else {
      created = await d.content.create(parseInput(contentInput, bodyOf(ctx)), null, principalLabel(principal));
    }
    ctx.status = 201;
    ctx.body = present(created);
  });
  router.patch('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    const changes = parseInput(contentPatch, bodyOf(ctx));
    // The audit log's before/after (docs/security.md §Audit log).
    auditNote(ctx, { before: present(await d.content.get(id)) });
    ctx.body = present(await d.content.update(id, changes));
  });
  // A new file (or a card's new cover): checked, stored and uploaded to WeCom again.
  router.put('/:id/file', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    if (!isMultipart(ctx)) throw new ValidationError('请以 multipart/form-data 上传文件（字段 file）');
    const body = await readMultipart(ctx, d.maxBytes);
    if (!body.file) throw invalidField('file', '请上传文件');
    auditNote(ctx, { before: present(await d.content.get(id)) });
    ctx.body = present(await d.content.replaceFile(id, { name: body.file.name, data: body.file.data }));
  });
  router.delete('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    auditNote(ctx, { before: present(await d.content.get(id)) });
    await d.content.remove(id);
    ctx.status = 204;
  });
  return router;
}
