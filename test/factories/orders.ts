import type { Db } from '../../src/persistence/db.js';
import { OrderRepository } from '../../src/persistence/repositories/order.repository.js';

/** An order as a test writes it; `id` defaults to the order number. */
export interface OrderSeed {
  externalUserId: string;
  orderNo: string;
  amountCents: number;
  orderedAt?: number;
  id?: string;
}

/**
 * Orders persisted through OrderRepository.upsertManyInTx, the writer every import goes through, so the order count
 * and total stored on each customer are recounted as in production (docs/audiences.md §Order totals on the customer).
 * Raw INSERTs into `orders` would leave them at 0.
 */
export async function insertOrders(db: Db, orders: OrderSeed[]): Promise<void> {
  const repo = new OrderRepository(db);
  for (let i = 0; i < orders.length; i += 500) {
    const chunk = orders.slice(i, i + 500).map((o) => ({
      id: o.id ?? o.orderNo,
      externalUserId: o.externalUserId,
      orderNo: o.orderNo,
      amountCents: o.amountCents,
      orderedAt: new Date(o.orderedAt ?? 0),
      createdAt: new Date(0),
    }));
    await db.tx((em) => repo.upsertManyInTx(em, chunk));
  }
}
