import Router from '@koa/router';
import { z } from 'zod';
import { OPERATORS, allow, api } from '../access.js';
import type { GroupCodeService } from '../../domain/groups/group-code.service.js';
import { groupCodeInput, groupCodePatch } from '../../domain/groups/group-acquisition.schema.js';
import { isLocalDate } from '../../shared/dates.js';
import { pageQuery, parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { presentGroupCode } from '../presenters/group-acquisition.presenter.js';
import { auditNote } from '../write-guards.js';

const idParams = z.object({ id: z.string().min(1).max(36) });
const day = z.string().refine(isLocalDate, '日期格式应为 YYYY-MM-DD');
const dailyQuery = z.object({ from: day.optional(), to: day.optional() });

/** `/api/v1/group-codes`: 群活码 (docs/groups.md §Group QR codes). */
export function groupCodesRouter(codes: GroupCodeService): Router {
  const router = new Router({ prefix: '/api/v1/group-codes', sensitive: true });
  router.get('/', allow(api(OPERATORS, 'none')), async (ctx) => {
    const q = parseInput(pageQuery, ctx.query);
    const { items, total } = await codes.list(q.page, q.pageSize);
    ctx.body = { items: items.map(presentGroupCode), total };
  });
  // 201 with status active, or with status failed and the reason when WeCom did not take it (parked for 重试).
  router.post('/', allow(api(OPERATORS, 'none')), async (ctx) => {
    const c = await codes.create(parseInput(groupCodeInput, bodyOf(ctx)));
    ctx.status = 201;
    ctx.body = presentGroupCode(c);
  });
  router.get('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    ctx.body = presentGroupCode(await codes.get(parseInput(idParams, ctx.params).id));
  });
  router.patch('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    const changes = parseInput(groupCodePatch, bodyOf(ctx));
    auditNote(ctx, { before: presentGroupCode(await codes.get(id)) });
    ctx.body = presentGroupCode(await codes.update(id, changes));
  });
  router.delete('/:id', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    auditNote(ctx, { before: presentGroupCode(await codes.get(id)) });
    await codes.remove(id);
    ctx.status = 204;
  });
  // A parked code, created in WeCom again.
  router.post('/:id/retry', allow(api(OPERATORS, 'none')), async (ctx) => {
    ctx.body = presentGroupCode(await codes.retry(parseInput(idParams, ctx.params).id));
  });
  // Read the code back from WeCom: its groups, including rooms WeCom opened, and its QR code.
  router.post('/:id/sync', allow(api(OPERATORS, 'none')), async (ctx) => {
    ctx.body = presentGroupCode(await codes.syncChats(parseInput(idParams, ctx.params).id));
  });
  // Joins, leaves and net per day (APP_TIMEZONE dates) and per group; default the last 30 days.
  router.get('/:id/daily', allow(api(OPERATORS, 'none')), async (ctx) => {
    const { id } = parseInput(idParams, ctx.params);
    ctx.body = await codes.daily(id, parseInput(dailyQuery, ctx.query));
  });
  return router;
}
