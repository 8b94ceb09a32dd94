import Router from '@koa/router';
import { OPERATORS, allow, api } from '../access.js';
import { z } from 'zod';
import type { DeliveryLogService } from '../../domain/delivery/delivery-log.service.js';
import { DELIVERY_STATUSES, type Delivery } from '../../domain/delivery/delivery.types.js';
import { pageQuery, parseInput } from '../pagination.js';

const listQuery = pageQuery.extend({
  customer: z.string().min(1).max(64).optional(),
  rule: z.string().min(1).max(36).optional(),
  broadcast: z.string().min(1).max(36).optional(),
  status: z.enum(DELIVERY_STATUSES).optional(),
  kind: z.enum(['care', 'winback', 'broadcast']).optional(),
});

/** A ledger row as the API shows it. */
export function presentDelivery(d: Delivery) {
  return {
    id: d.id,
    kind: d.kind,
    source: d.source,
    ruleId: d.ruleId,
    broadcastId: d.broadcastId,
    externalUserId: d.externalUserId,
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

/** `GET /api/v1/deliveries?customer=&rule=&broadcast=&status=`: the delivery ledger, newest first. */
export function deliveriesRouter(deliveries: DeliveryLogService): Router {
  const router = new Router({ prefix: '/api/v1/deliveries', sensitive: true });
  router.get('/', allow(api(OPERATORS, 'all')), async (ctx) => {
    const q = parseInput(listQuery, ctx.query);
    const { items, total } = await deliveries.list({
      externalUserId: q.customer, ruleId: q.rule, broadcastId: q.broadcast, status: q.status, kind: q.kind, page: q.page, pageSize: q.pageSize,
    });
    ctx.body = { items: items.map(presentDelivery), total };
  });
  return router;
}
