import Router from '@koa/router';
import { OPERATORS, allow, api } from '../access.js';
import { z } from 'zod';
import type { TransferService } from '../../domain/transfers/transfer.service.js';
import { MAX_CUSTOMERS_PER_REQUEST } from '../../domain/transfers/transfer.service.js';
import { TRANSFER_STATUSES } from '../../domain/transfers/transfer.types.js';
import type { Principal } from '../../domain/auth/api-token.service.js';
import { principalLabel } from './erasure.router.js';
import { pageQuery, parseInput } from '../pagination.js';
import { bodyOf } from '../body.js';
import { ValidationError } from '../../shared/errors.js';
import { presentTransfer, presentTransferRequest } from '../presenters/transfer.presenter.js';

const userid = z.string().trim().min(1, '不能为空').max(64, '最长 64 个字符');
const createBody = z
  .object({
    kind: z.enum(['onjob', 'resigned'], { message: 'kind 只能是 onjob（在职继承）或 resigned（离职继承）' }),
    handover: userid,
    takeover: userid,
    customers: z.array(z.string().trim().min(1).max(64)).min(1, '至少一位客户').max(MAX_CUSTOMERS_PER_REQUEST).optional(),
    audience: z.string().max(4000).optional(),
    // transfer_success_msg: ≤ 200 characters (docs/wecom-protocol.md §Customer transfers), counted as WeCom does, by
    // code point.
    message: z
      .string()
      .trim()
      .min(1, '不能为空')
      .refine((s) => [...s].length <= 200, '转接提示语最多 200 个字')
      .optional(),
  })
  .strict();
const listQuery = pageQuery.extend({
  status: z.enum(TRANSFER_STATUSES as [string, ...string[]]).optional(),
  handover: userid.optional(),
  takeover: userid.optional(),
  customer: z.string().min(1).max(64).optional(),
  requestId: z.string().min(1).max(36).optional(),
});

/**
 * The body field a service 400 is about, so the console's 在职继承 form shows it next to that field (README §HTTP):
 * an empty or too large selection is about whatever chose the customers (the audience, the list, or the member).
 */
function fieldOf(code: string, body: { audience?: string; customers?: string[] }): string | null {
  const selection = body.audience !== undefined ? 'audience' : body.customers ? 'customers' : 'handover';
  const fields: Record<string, string> = {
    same_staff: 'takeover',
    customers_and_audience: 'audience',
    message_not_supported: 'message',
    invalid_audience: 'audience',
    no_customers: selection,
    too_many_customers: selection,
  };
  return fields[code] ?? null;
}

function withField(err: unknown, body: { audience?: string; customers?: string[] }): unknown {
  if (!(err instanceof ValidationError)) return err;
  const field = fieldOf(err.code, body);
  const details = (err.details ?? {}) as Record<string, unknown>;
  if (!field || details.fields) return err;
  const out = new ValidationError(err.message, { ...details, fields: { [field]: err.message } }, err.code);
  out.stack = err.stack;
  return out;
}

/**
 * Customer transfers (客户继承: 在职继承 / 离职继承): `POST /api/v1/transfers` starts them and answers each customer's
 * outcome; `GET /api/v1/transfers?status=&handover=&takeover=&customer=&requestId=` lists them. Operators and admins.
 */
export function transfersRouter(transfers: TransferService): Router {
  const router = new Router({ prefix: '/api/v1/transfers', sensitive: true });
  router.get('/', allow(api(OPERATORS, 'all')), async (ctx) => {
    const q = parseInput(listQuery, ctx.query);
    const { items, total } = await transfers.list({ ...q, status: q.status as (typeof TRANSFER_STATUSES)[number] | undefined });
    ctx.body = { items: items.map(presentTransfer), total };
  });
  // 离职待分配: customers of departed members nobody has taken over yet (WeCom's list,
  // docs/wecom-protocol.md §Customer transfers).
  router.get('/unassigned', allow(api(OPERATORS, 'all')), async (ctx) => {
    const q = parseInput(pageQuery.extend({ handover: userid.optional() }), ctx.query);
    const { items, total, isTruncated } = await transfers.unassigned(q);
    ctx.body = {
      items: items.map((u) => ({ handover: u.handoverUserId, externalUserId: u.externalUserId, customerName: u.customerName, dimissionAt: u.dimissionAt.toISOString() })),
      total,
      ...(isTruncated ? { isTruncated } : {}),
    };
  });
  router.post('/', allow(api(OPERATORS, 'all')), async (ctx) => {
    const principal = ctx.state.principal as Principal;
    const input = parseInput(createBody, bodyOf(ctx));
    const result = await transfers.request(input, principalLabel(principal)).catch((err: unknown) => {
      throw withField(err, input);
    });
    ctx.status = 201;
    ctx.body = presentTransferRequest(result);
  });
  return router;
}
