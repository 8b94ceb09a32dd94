import type { Order, OrderSummary } from '../../domain/orders/order.types.js';
import type { OrderImportReport } from '../../domain/orders/order.service.js';

/** An order; amounts stay in whole cents (分) so no client adds up floats. */
export function presentOrder(o: Order) {
  return {
    id: o.id,
    orderNo: o.orderNo,
    externalUserId: o.externalUserId,
    amountCents: o.amountCents,
    orderedAt: o.orderedAt.toISOString(),
    createdAt: o.createdAt.toISOString(),
  };
}

/** The archive's order summary. */
export function presentOrderSummary(s: OrderSummary) {
  return { count: s.count, totalCents: s.totalCents, lastOrderedAt: s.lastOrderedAt?.toISOString() ?? null };
}

/** An import's outcome: `{ imported, updated, unchanged, failed, errors: [{ line, code, message }] }`. */
export function presentImportReport(r: OrderImportReport) {
  return { imported: r.imported, updated: r.updated, unchanged: r.unchanged, failed: r.failed, errors: r.errors.map((e) => ({ line: e.line, code: e.code, message: e.message })) };
}
