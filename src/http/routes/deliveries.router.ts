import Router from '@koa/router';
import { OPERATORS, allow, api } from '../access.js';
import { z } from 'zod';
import type { DeliveryLogService } from '../../domain/delivery/delivery-log.service.js';
import { DELIVERY_STATUSES, type Delivery } from '../../domain/delivery/delivery.types.js';
import { pageQuery, parseInput } from '../pagination.js';
import { isLocalDate } from '../../shared/dates.js';

const localDay = z.string().refine(isLocalDate, '应为日期 YYYY-MM-DD / must be a date YYYY-MM-DD');

const listQuery = pageQuery.extend({
  customer: z.string().min(1).max(64).optional(),
  rule: z.string().min(1).max(36).optional(),
  broadcast: z.string().min(1).max(36).optional(),
  status: z.enum(DELIVERY_STATUSES).optional(),
  kind: z.enum(['care', 'winback', 'broadcast', 'loyalty', 'survey', 'journey'], { message: '类型须为 care、winback、broadcast、loyalty、survey 或 journey' }).optional(),
  /** Local dates the rows are meant for, inclusive. */
  from: localDay.optional(),
  to: localDay.optional(),
});

/** A ledger row as the API shows it. */
export function presentDelivery(d: Delivery, customerName: string | null = null, sourceName: string | null = null) {
  return {
    id: d.id,
    kind: d.kind,
    source: d.source,
    /** The source in words (关怀规则「…」, 群发「…」, 满意度调查：…, 会员等级升级祝贺); null where not looked up. */
    sourceName,
    ruleId: d.ruleId,
    broadcastId: d.broadcastId,
    externalUserId: d.externalUserId,
    customerName,
    occasion: d.occasion,
    channel: d.channel,
    priority: d.priority,
    sender: d.senderUserid,
    text: d.text,
    attachments: d.attachments,
    localDate: d.localDate,
    notBefore: d.notBefore.toISOString(),
    expiresAt: d.expiresAt.toISOString(),
    status: d.status,
    reason: d.reason,
    msgId: d.msgId,
    createdAt: d.createdAt.toISOString(),
    submittedAt: d.submittedAt?.toISOString() ?? null,
    sentAt: d.sentAt?.toISOString() ?? null,
  };
}

/** `GET /api/v1/deliveries?customer=&rule=&broadcast=&status=&kind=&from=&to=`: the delivery ledger, newest first. */
export function deliveriesRouter(deliveries: DeliveryLogService): Router {
  const router = new Router({ prefix: '/api/v1/deliveries', sensitive: true });
  router.get('/', allow(api(OPERATORS, 'all')), async (ctx) => {
    const q = parseInput(listQuery, ctx.query);
    const { items, total, names, sources } = await deliveries.list({
      externalUserId: q.customer, ruleId: q.rule, broadcastId: q.broadcast, status: q.status, kind: q.kind, from: q.from, to: q.to, page: q.page, pageSize: q.pageSize,
    });
    ctx.body = { items: items.map((d) => presentDelivery(d, names.get(d.externalUserId) ?? null, sources.get(d.source) ?? null)), total };
  });
  return router;
}
