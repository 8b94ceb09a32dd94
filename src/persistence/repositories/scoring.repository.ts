import type { Db } from '../db.js';
import { placeholders } from './sql-upsert.js';
import type { CustomerOrderFacts, OrderTotals, OrderWindow, ScoringCustomer } from '../../domain/scoring/scoring.types.js';

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const instant = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(Number(v)));

/**
 * Reads for the nightly scoring pass and its bulk writes. Customers are read in keyset pages and orders are
 * aggregated per page, so neither memory nor the number of statements grows with one customer.
 */
export class ScoringRepository {
  constructor(private readonly db: Db) {}

  /**
   * Totals over archived customers with orders in the window. Orders of customers the archive does not know (an
   * import ahead of a sync) are left out, so the baseline is over exactly the customers being classified.
   */
  async orderTotals(w: OrderWindow): Promise<OrderTotals> {
    const [r] = await this.db.query<{ n: unknown; orders: unknown; spent: unknown; mean_last: unknown }>(
      `SELECT COUNT(*) AS n, SUM(x.cnt) AS orders, SUM(x.spent) AS spent, AVG(x.last_at) AS mean_last
       FROM (SELECT o.external_user_id, COUNT(*) AS cnt, SUM(o.amount_cents) AS spent, MAX(o.ordered_at) AS last_at
             FROM orders o JOIN customers c ON c.external_user_id = o.external_user_id
             WHERE o.ordered_at >= ? AND o.ordered_at < ? GROUP BY o.external_user_id) x`,
      [w.from, w.to],
    );
    return { customers: num(r?.n), orders: num(r?.orders), spentCents: num(r?.spent), meanLastOrderAt: num(r?.mean_last) };
  }

  /** One page of customers after `afterId`, in key order. */
  async page(afterId: string, limit: number): Promise<ScoringCustomer[]> {
    const rows = await this.db.query<{
      external_user_id: string;
      rfm: string | null;
      stage: string | null;
      first_added_at: unknown;
      created_at: unknown;
      last_interaction_at: unknown;
      has_rel: unknown;
    }>(
      `SELECT c.external_user_id, c.rfm, c.stage, c.first_added_at, c.created_at, c.last_interaction_at,
         CASE WHEN EXISTS (SELECT 1 FROM follow_relations fr WHERE fr.external_user_id = c.external_user_id AND fr.status = 'active') THEN 1 ELSE 0 END AS has_rel
       FROM customers c WHERE c.external_user_id > ? ORDER BY c.external_user_id LIMIT ?`,
      [afterId, limit],
    );
    return rows.map((r) => ({
      externalUserId: r.external_user_id,
      rfm: r.rfm,
      stage: r.stage,
      firstAddedAt: instant(r.first_added_at),
      createdAt: new Date(num(r.created_at)),
      lastInteractionAt: instant(r.last_interaction_at),
      hasActiveRelation: num(r.has_rel) === 1,
    }));
  }

  /** Order facts of the customers in the key range (afterId, upToId], for orders before `w.to`. */
  async orderFacts(afterId: string, upToId: string, w: OrderWindow): Promise<Map<string, CustomerOrderFacts>> {
    const rows = await this.db.query<{ external_user_id: string; lifetime: unknown; last_any: unknown; cnt: unknown; spent: unknown; last_at: unknown }>(
      `SELECT o.external_user_id, COUNT(*) AS lifetime, MAX(o.ordered_at) AS last_any,
         SUM(CASE WHEN o.ordered_at >= ? THEN 1 ELSE 0 END) AS cnt,
         SUM(CASE WHEN o.ordered_at >= ? THEN o.amount_cents ELSE 0 END) AS spent,
         MAX(CASE WHEN o.ordered_at >= ? THEN o.ordered_at END) AS last_at
       FROM orders o WHERE o.external_user_id > ? AND o.external_user_id <= ? AND o.ordered_at < ? GROUP BY o.external_user_id`,
      [w.from, w.from, w.from, afterId, upToId, w.to],
    );
    return new Map(
      rows.map((r) => [
        r.external_user_id,
        {
          lifetimeOrders: num(r.lifetime),
          lastOrderAt: num(r.last_any),
          windowOrders: num(r.cnt),
          windowSpentCents: num(r.spent),
          windowLastOrderAt: r.last_at === null || r.last_at === undefined ? null : Number(r.last_at),
        },
      ]),
    );
  }

  /** Set rfm and stage of these customers (one statement per ≤ 1000 ids). Returns rows changed. */
  async setScores(ids: string[], rfm: string | null, stage: string, now: Date): Promise<number> {
    let n = 0;
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000);
      n += await this.db.exec(`UPDATE customers SET rfm = ?, stage = ?, updated_at = ? WHERE external_user_id IN (${placeholders(chunk.length)})`, [
        rfm,
        stage,
        now.getTime(),
        ...chunk,
      ]);
    }
    return n;
  }
}
