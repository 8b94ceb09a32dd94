import Router from '@koa/router';
import { z } from 'zod';
import { OPERATORS, allow, api } from '../access.js';
import type { GroupTransferService } from '../../domain/transfers/group-transfer.service.js';
import { MAX_GROUPS_PER_REQUEST } from '../../domain/transfers/group-transfer.service.js';
import { GROUP_TRANSFER_STATUSES } from '../../domain/transfers/group-transfer.types.js';
import type { Principal } from '../../domain/auth/api-token.service.js';
import { principalLabel } from './erasure.router.js';
import { pageQuery, parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { presentGroupTransfer, presentGroupTransferRequest } from '../presenters/group-transfer.presenter.js';

const userid = z.string().trim().min(1, '不能为空').max(64, '最长 64 个字符');
const kind = z.enum(['onjob', 'resigned'], { message: 'kind 只能是 onjob（在职继承）或 resigned（离职继承）' });
const createBody = z
  .object({
    kind,
    handover: userid,
    takeover: userid,
    chats: z.array(z.string().trim().min(1).max(64)).min(1, '至少一个群').max(MAX_GROUPS_PER_REQUEST, `一次最多 ${MAX_GROUPS_PER_REQUEST} 个群`).optional(),
  })
  .strict();
const listQuery = pageQuery.extend({
  status: z.enum(GROUP_TRANSFER_STATUSES as [string, ...string[]]).optional(),
  handover: userid.optional(),
  takeover: userid.optional(),
  chatId: z.string().min(1).max(64).optional(),
  requestId: z.string().min(1).max(36).optional(),
});

/**
 * 客户群继承 (docs/groups.md §Group transfers): `GET /api/v1/group-transfers/candidates?kind=&handover=` lists the
 * groups WeCom has for the member, `POST /api/v1/group-transfers` hands them (or the listed `chats`) to `takeover` and
 * answers each group's outcome, `GET /api/v1/group-transfers` lists past ones. Operators and admins, like 客户继承.
 */
export function groupTransfersRouter(groups: GroupTransferService): Router {
  const router = new Router({ prefix: '/api/v1/group-transfers', sensitive: true });
  router.get('/', allow(api(OPERATORS, 'all')), async (ctx) => {
    const q = parseInput(listQuery, ctx.query);
    const { items, total } = await groups.list({ ...q, newOwner: q.takeover, status: q.status as (typeof GROUP_TRANSFER_STATUSES)[number] | undefined });
    ctx.body = { items: items.map(presentGroupTransfer), total };
  });
  router.get('/candidates', allow(api(OPERATORS, 'all')), async (ctx) => {
    const q = parseInput(z.object({ kind, handover: userid }), ctx.query);
    const items = await groups.candidates(q.kind, q.handover);
    ctx.body = { items, total: items.length };
  });
  router.post('/', allow(api(OPERATORS, 'all')), async (ctx) => {
    const principal = ctx.state.principal as Principal;
    const input = parseInput(createBody, bodyOf(ctx));
    ctx.status = 201;
    ctx.body = presentGroupTransferRequest(await groups.request(input, principalLabel(principal)));
  });
  return router;
}
