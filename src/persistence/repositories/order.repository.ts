import type { EntityManager } from 'typeorm';
import type { Db } from '../db.js';
import { forUpdate, placeholders, upsertManySql } from './sql-upsert.js';
import type { Order, OrderSummary } from '../../domain/orders/order.types.js';

interface Row {
  id: string;
  external_user_id: string;
  order_no: string;
  amount_cents: number | string;
  ordered_at: number | string;
  created_at: number | string;
}

function toOrder(r: Row): Order {
  return {
    id: r.id,
    externalUserId: r.external_user_id,
    orderNo: r.order_no,
    amountCents: Number(r.amount_cents),
    orderedAt: new Date(Number(r.ordered_at)),
    createdAt: new Date(Number(r.created_at)),
  };
}

const COLS = ['id', 'external_user_id', 'order_no', 'amount_cents', 'ordered_at', 'created_at'] as const;
// On a known order_no only what an import may correct changes; id and created_at stay the first import's.
const UPDATED = ['external_user_id', 'amount_cents', 'ordered_at'] as const;
// Customers per recount statement: far below SQLite's bound-parameter limit.
const TOTALS_PER_STATEMENT = 1000;

/** Orders, unique by order_no. */
export class OrderRepository {
  constructor(private readonly db: Db) {}

  /** The orders with these numbers, locked for update on MySQL, inside a caller's transaction. */
  async findByOrderNosInTx(em: EntityManager, orderNos: string[]): Promise<Map<string, Order>> {
    if (orderNos.length === 0) return new Map();
    const rows: Row[] = await em.query(`SELECT * FROM orders WHERE order_no IN (${placeholders(orderNos.length)})${forUpdate(this.db.engine)}`, orderNos);
    return new Map(rows.map((r) => [r.order_no, toOrder(r)]));
  }

  /**
   * Insert new orders and overwrite changed ones (by order_no) in one statement, inside a caller's transaction, and
   * recompute the order count and total stored on every customer this touches: each order's customer and, for an
   * order moved to another customer, the one it had (docs/audiences.md §Order totals on the customer). The caller
   * locks those customers first (CustomerRepository.lockExistingInTx), so concurrent writers take turns per customer.
   */
  async upsertManyInTx(em: EntityManager, orders: Order[]): Promise<void> {
    if (orders.length === 0) return;
    const nos = orders.map((o) => o.orderNo);
    const before: { external_user_id: string }[] = await em.query(`SELECT DISTINCT external_user_id FROM orders WHERE order_no IN (${placeholders(nos.length)})`, nos);
    const params = orders.flatMap((o) => [o.id, o.externalUserId, o.orderNo, o.amountCents, o.orderedAt.getTime(), o.createdAt.getTime()]);
    await em.query(upsertManySql(this.db.engine, 'orders', COLS, ['order_no'], UPDATED, orders.length), params);
    await this.refreshCustomerTotalsInTx(em, [...new Set([...orders.map((o) => o.externalUserId), ...before.map((r) => r.external_user_id)])]);
  }

  /**
   * Recompute `customers.order_count` and `order_total_cents` of these customers from their orders, inside a caller's
   * transaction: a recount rather than an increment, so a re-import, a changed amount or an order moved between
   * customers can never leave a total that disagrees with the orders. One statement per 1,000 customers, reading each
   * customer's orders once through ix_orders_customer_ordered (which covers both sums).
   */
  async refreshCustomerTotalsInTx(em: EntityManager, exts: string[]): Promise<void> {
    for (let i = 0; i < exts.length; i += TOTALS_PER_STATEMENT) {
      const ids = exts.slice(i, i + TOTALS_PER_STATEMENT);
      const marks = placeholders(ids.length);
      if (this.db.engine === 'mysql') {
        // MySQL has no row-value SET: the sums of all these customers in one grouped read, joined to their rows (a
        // customer left without orders joins nothing and gets 0).
        await em.query(
          `UPDATE customers c LEFT JOIN (SELECT o.external_user_id AS id, COUNT(*) AS n, SUM(o.amount_cents) AS s FROM orders o
             WHERE o.external_user_id IN (${marks}) GROUP BY o.external_user_id) a ON a.id = c.external_user_id
           SET c.order_count = COALESCE(a.n, 0), c.order_total_cents = COALESCE(a.s, 0) WHERE c.external_user_id IN (${marks})`,
          [...ids, ...ids],
        );
      } else {
        await em.query(
          `UPDATE customers SET (order_count, order_total_cents) =
             (SELECT COUNT(*), COALESCE(SUM(o.amount_cents), 0) FROM orders o WHERE o.external_user_id = customers.external_user_id)
           WHERE external_user_id IN (${marks})`,
          ids,
        );
      }
    }
  }

  /** A page of a customer's orders, newest first. */
  async listForCustomer(ext: string, page: number, pageSize: number): Promise<{ items: Order[]; total: number }> {
    const [{ n }] = await this.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM orders WHERE external_user_id = ?', [ext]);
    const rows = await this.db.query<Row>('SELECT * FROM orders WHERE external_user_id = ? ORDER BY ordered_at DESC, order_no DESC LIMIT ? OFFSET ?', [
      ext,
      pageSize,
      (page - 1) * pageSize,
    ]);
    return { items: rows.map(toOrder), total: Number(n) };
  }

  /** Count, total and latest order time of a customer (the same sums the audience `orders`/`spent` predicates use). */
  async summaryForCustomer(ext: string): Promise<OrderSummary> {
    const [r] = await this.db.query<{ n: number | string; total: number | string | null; last: number | string | null }>(
      'SELECT COUNT(*) AS n, COALESCE(SUM(amount_cents), 0) AS total, MAX(ordered_at) AS last FROM orders WHERE external_user_id = ?',
      [ext],
    );
    return { count: Number(r.n), totalCents: Number(r.total ?? 0), lastOrderedAt: r.last === null ? null : new Date(Number(r.last)) };
  }
}
