import type { Db } from '../db.js';
import { placeholders, upsertManySql } from './sql-upsert.js';

/** A stored prediction (docs/repurchase.md §Storage). */
export interface StoredPrediction {
  externalUserId: string;
  dueOn: string;
  lastOrderOn: string;
  orderDays: number;
  ownTenths: number;
  typicalTenths: number | null;
  intervalDays: number;
  segment: string | null;
  updatedAt: number;
}

/** A customer the predictions are computed for: at least two orders. */
export interface RepurchaseCustomer {
  externalUserId: string;
  rfm: string | null;
}

interface Row {
  external_user_id: string;
  due_on: string;
  last_order_on: string;
  order_days: unknown;
  own_tenths: unknown;
  typical_tenths: unknown;
  interval_days: unknown;
  segment: string | null;
  updated_at: unknown;
}

const COLS = ['external_user_id', 'due_on', 'last_order_on', 'order_days', 'own_tenths', 'typical_tenths', 'interval_days', 'segment', 'updated_at'];
// 9 columns × 500 rows stays far below SQLite's bound-parameter limit.
const WRITE_ROWS = 500;

function toPrediction(r: Row): StoredPrediction {
  return {
    externalUserId: r.external_user_id,
    dueOn: r.due_on,
    lastOrderOn: r.last_order_on,
    orderDays: Number(r.order_days),
    ownTenths: Number(r.own_tenths),
    typicalTenths: r.typical_tenths === null ? null : Number(r.typical_tenths),
    intervalDays: Number(r.interval_days),
    segment: r.segment,
    updatedAt: Number(r.updated_at),
  };
}

/** Predicted next orders and the segments' typical intervals (migration 0045). */
export class RepurchaseRepository {
  constructor(private readonly db: Db) {}

  /** A keyset page of customers with two orders or more (order_count, kept by every order writer). */
  async customersPage(afterId: string, limit: number): Promise<RepurchaseCustomer[]> {
    const rows = await this.db.query<{ external_user_id: string; rfm: string | null }>(
      'SELECT c.external_user_id, c.rfm FROM customers c WHERE c.external_user_id > ? AND c.order_count >= 2 ORDER BY c.external_user_id LIMIT ?',
      [afterId, limit],
    );
    return rows.map((r) => ({ externalUserId: r.external_user_id, rfm: r.rfm }));
  }

  /** The customers among `ids` that exist, with their segment (order count aside: the caller decides from the orders). */
  async customers(ids: readonly string[]): Promise<RepurchaseCustomer[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.query<{ external_user_id: string; rfm: string | null }>(
      `SELECT external_user_id, rfm FROM customers WHERE external_user_id IN (${placeholders(ids.length)})`,
      [...ids],
    );
    return rows.map((r) => ({ externalUserId: r.external_user_id, rfm: r.rfm }));
  }

  /** Every order instant (epoch ms) of the customers `ids`, through ix_orders_customer. */
  async orderTimes(ids: readonly string[]): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>();
    if (ids.length === 0) return out;
    const rows = await this.db.query<{ external_user_id: string; ordered_at: unknown }>(
      `SELECT external_user_id, ordered_at FROM orders WHERE external_user_id IN (${placeholders(ids.length)})`,
      [...ids],
    );
    for (const r of rows) {
      const list = out.get(r.external_user_id) ?? [];
      list.push(Number(r.ordered_at));
      out.set(r.external_user_id, list);
    }
    return out;
  }

  /** Write predictions (insert or replace, by customer). */
  async upsertMany(rows: readonly StoredPrediction[]): Promise<void> {
    for (let i = 0; i < rows.length; i += WRITE_ROWS) {
      const chunk = rows.slice(i, i + WRITE_ROWS);
      await this.db.exec(
        upsertManySql(this.db.engine, 'repurchase_predictions', COLS, ['external_user_id'], COLS.slice(1), chunk.length),
        chunk.flatMap((p) => [p.externalUserId, p.dueOn, p.lastOrderOn, p.orderDays, p.ownTenths, p.typicalTenths, p.intervalDays, p.segment, p.updatedAt]),
      );
    }
  }

  /** Remove the predictions of `ids` (fewer than two order days now). */
  async deleteMany(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return this.db.exec(`DELETE FROM repurchase_predictions WHERE external_user_id IN (${placeholders(ids.length)})`, [...ids]);
  }

  /** Remove predictions not written since `before` (customers a full pass no longer predicts), and any of a customer without two orders. */
  async deleteStale(before: number): Promise<number> {
    return this.db.exec(
      'DELETE FROM repurchase_predictions WHERE updated_at < ? OR external_user_id NOT IN (SELECT c.external_user_id FROM customers c WHERE c.order_count >= 2)',
      [before],
    );
  }

  /** One customer's prediction. */
  async forCustomer(ext: string): Promise<StoredPrediction | null> {
    const [row] = await this.db.query<Row>('SELECT * FROM repurchase_predictions WHERE external_user_id = ?', [ext]);
    return row ? toPrediction(row) : null;
  }

  /** The predictions of `ids` (a care planning page). */
  async forCustomers(ids: readonly string[]): Promise<Map<string, StoredPrediction>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.query<Row>(`SELECT * FROM repurchase_predictions WHERE external_user_id IN (${placeholders(ids.length)})`, [...ids]);
    return new Map(rows.map((r) => [r.external_user_id, toPrediction(r)]));
  }

  /** The typical intervals (days) by segment ('' the corp-wide one) of the last full pass. */
  async typicals(): Promise<Map<string, number>> {
    const rows = await this.db.query<{ segment: string; typical_tenths: unknown }>('SELECT segment, typical_tenths FROM repurchase_segments');
    return new Map(rows.map((r) => [r.segment, Number(r.typical_tenths) / 10]));
  }

  /** Replace the typical intervals. */
  async saveTypicals(typicals: ReadonlyMap<string, { days: number; customers: number }>, now: number): Promise<void> {
    await this.db.tx(async (em) => {
      await em.query('DELETE FROM repurchase_segments');
      for (const [segment, t] of typicals) {
        await em.query('INSERT INTO repurchase_segments (segment, typical_tenths, customers, updated_at) VALUES (?, ?, ?, ?)', [segment, Math.round(t.days * 10), t.customers, now]);
      }
    });
  }
}
