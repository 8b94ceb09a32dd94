import Router from '@koa/router';
import { OPERATORS, allow, api } from '../access.js';
import { z } from 'zod';
import type { ChannelService } from '../../domain/channels/channel.service.js';
import { channelInput, channelPatch } from '../../domain/channels/channel.schema.js';
import { isLocalDate } from '../../shared/dates.js';
import { pageQuery, parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { presentChannel } from '../presenters/channel.presenter.js';
import { auditNote } from '../write-guards.js';

const idParams = z.object({ id: z.string().min(1).max(36) });
const day = z.string().refine(isLocalDate, '日期格式应为 YYYY-MM-DD');
const dailyQuery = z.object({ from: day.optional(), to: day.optional() });

/** `/api/v1/channels`: channel QR codes (渠道活码). */
export function channelsRouter(channels: ChannelService): Router {
  const router = new Router({ prefix: '/api/v1/channels', sensitive: true });
  router.get('/', allow(api(OPERATORS, 'none')), async (ctx) => {
    const q = parseInput(pageQuery, ctx.query);
    const { items, total } = await channels.list(q.page, q.pageSize);
    ctx.body = { items: items.map((c) => presentChannel(c)), total };
  });
  router.post('/', allow(api(OPERATORS, 'none')), async (ctx) => {
    const c = await channels.create(parseInput(channelInput, bodyOf(ctx)));
    ctx.status = 201;
    ctx.body = presentChannel(c);
  });
  router.get('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    ctx.body = presentChannel(await channels.get(id), await channels.stats(id));
  });
  // Adds, deletions and net per day (APP_TIMEZONE dates), every day of the range; default the last 30 days.
  router.get('/:id/daily', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    ctx.body = await channels.daily(id, parseInput(dailyQuery, ctx.query));
  });
  router.patch('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    const changes = parseInput(channelPatch, bodyOf(ctx));
    // The audit log's before/after (docs/security.md §Audit log).
    auditNote(ctx, { before: presentChannel(await channels.get(id)) });
    ctx.body = presentChannel(await channels.update(id, changes));
  });
  return router;
}
