import Router from '@koa/router';
import { OPERATORS, allow, api } from '../access.js';
import { z } from 'zod';
import type { ChannelService } from '../../domain/channels/channel.service.js';
import { pageQuery, parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { presentChannel } from '../presenters/channel.presenter.js';
import { auditNote } from '../write-guards.js';

const welcome = z.object({ text: z.string().max(4000).default(''), attachments: z.array(z.record(z.string(), z.unknown())).max(9).optional() });
const channelBody = z.object({
  name: z.string().trim().min(1).max(100),
  staff: z.array(z.string().min(1).max(64)).min(1).max(100),
  tags: z.array(z.string().trim().min(1).max(61)).max(20).default([]),
  welcome: welcome.nullable().optional(),
});
const idParams = z.object({ id: z.string().min(1).max(36) });

/** `/api/v1/channels`: channel QR codes (渠道活码). */
export function channelsRouter(channels: ChannelService): Router {
  const router = new Router({ prefix: '/api/v1/channels', sensitive: true });
  router.get('/', allow(api(OPERATORS, 'none')), async (ctx) => {
    const q = parseInput(pageQuery, ctx.query);
    const { items, total } = await channels.list(q.page, q.pageSize);
    ctx.body = { items: items.map((c) => presentChannel(c)), total };
  });
  router.post('/', allow(api(OPERATORS, 'none')), async (ctx) => {
    const c = await channels.create(parseInput(channelBody, bodyOf(ctx)));
    ctx.status = 201;
    ctx.body = presentChannel(c);
  });
  router.get('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    ctx.body = presentChannel(await channels.get(id), await channels.stats(id));
  });
  router.patch('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    const changes = parseInput(channelBody.partial(), bodyOf(ctx));
    // The audit log's before/after (docs/security.md §Audit log).
    auditNote(ctx, { before: presentChannel(await channels.get(id)) });
    ctx.body = presentChannel(await channels.update(id, changes));
  });
  return router;
}
