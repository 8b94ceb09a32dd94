import type { EntityManager } from 'typeorm';
import type { Db } from '../../persistence/db.js';
import type { CustomerRepository } from '../../persistence/repositories/customer.repository.js';
import type { OrderRepository } from '../../persistence/repositories/order.repository.js';
import type { Order } from './order.types.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { newId } from '../../shared/ids.js';
import type { CustomerService, Viewer } from '../customers/customer.service.js';
import { parseOrderRow, type OrderRow, type OrderRowError, type RawOrderRow } from './order-input.js';
import { readOrdersCsv, tooManyRowsError, type CsvImportLimits } from './orders-csv.js';
import type { LoyaltyService } from '../loyalty/loyalty.service.js';
import type { RepurchaseService } from '../repurchase/repurchase.service.js';

/** What an import did. Re-importing the same rows reports them all as unchanged. */
export interface OrderImportReport {
  imported: number;
  updated: number;
  unchanged: number;
  /** Rows refused, all of them; `errors` lists the first MAX_REPORTED_ERRORS by line. */
  failed: number;
  errors: OrderRowError[];
}

/** Rows per transaction: rows × 6 columns stays far below SQLite's bound-parameter limit. */
export const IMPORT_CHUNK_ROWS = 500;
/** A file of nothing but bad rows should not produce a reply as large as the file. */
export const MAX_REPORTED_ERRORS = 1000;
/**
 * Most orders one import takes, CSV and JSON alike (API and CLI); one more is a 413 and nothing is imported
 * (docs/security.md §Order import limits).
 */
export const MAX_IMPORT_ROWS = 50_000;
/** Largest CSV one import takes (API and CLI); beyond it, 413. */
export const MAX_CSV_BYTES = 5 * 1024 * 1024;
/** The caps every CSV import runs under. */
export const CSV_IMPORT_LIMITS: Readonly<CsvImportLimits> = Object.freeze({ maxRows: MAX_IMPORT_ROWS, maxBytes: MAX_CSV_BYTES });

/** Order import (订单导入, idempotent by order number) and per-customer order lists. */
export class OrderService {
  constructor(
    private readonly db: Db,
    private readonly orders: OrderRepository,
    private readonly customerRows: CustomerRepository,
    private readonly customers: Pick<CustomerService, 'getVisible'>,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly timezone: string,
    /**
     * Port to the loyalty programme: points for new orders in the import's own transaction (so an order is credited
     * once and never lost), then the tiers of the customers touched (docs/loyalty.md §Points from orders).
     */
    private readonly loyalty?: Pick<LoyaltyService, 'creditOrdersInTx' | 'afterImport'>,
    /** Port to the repurchase predictions: the customers whose orders changed are predicted again (docs/repurchase.md §When it is computed). */
    private readonly repurchase?: Pick<RepurchaseService, 'refreshCustomers'>,
    /** Port to journeys: new orders, in the import's own transaction, so a first-order trigger is never lost (docs/journeys.md §Signals). */
    private readonly onNewOrdersInTx?: (em: EntityManager, orders: { externalUserId: string }[], now: Date) => Promise<void>,
  ) {}

  /** A page of a customer's orders, newest first (404 when the viewer may not see the customer). */
  async list(ext: string, q: { page: number; pageSize: number }, viewer: Viewer): Promise<{ items: Order[]; total: number }> {
    await this.customers.getVisible(ext, viewer);
    return this.orders.listForCustomer(ext, q.page, q.pageSize);
  }

  /**
   * Import a CSV read piece by piece (an HTTP body, a file stream, or a whole text; header row required, see
   * readOrdersCsv). The whole file is read and checked first, so one that breaks a cap imports nothing.
   */
  async importCsv(source: AsyncIterable<Uint8Array | string> | string): Promise<OrderImportReport> {
    return this.importRows(await readOrdersCsv(typeof source === 'string' ? [source] : source, CSV_IMPORT_LIMITS));
  }

  /** Import JSON order objects; `line` in errors is the 1-based position in the array. More than MAX_IMPORT_ROWS: 413. */
  importJson(items: unknown[]): Promise<OrderImportReport> {
    if (items.length > MAX_IMPORT_ROWS) return Promise.reject(tooManyRowsError(MAX_IMPORT_ROWS));
    const rows: RawOrderRow[] = [];
    const refused: OrderRowError[] = [];
    items.forEach((item, i) => {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        refused.push({ line: i + 1, code: 'invalid_row', message: '不是订单对象（应为 { orderNo, externalUserId, amount, orderedAt }）' });
        return;
      }
      const o = item as Record<string, unknown>;
      rows.push({ line: i + 1, orderNo: o.orderNo, externalUserId: o.externalUserId, amount: o.amount, orderedAt: o.orderedAt });
    });
    return this.importRows(rows, refused);
  }

  /**
   * Validate every row, then write the good ones chunk by chunk, one transaction each: new order numbers are
   * inserted, known ones whose customer, amount or time differ are overwritten, identical ones are left alone.
   * Bad rows, unknown customers and repeats of an order number within the import are reported, never fatal.
   */
  async importRows(raw: RawOrderRow[], refused: OrderRowError[] = []): Promise<OrderImportReport> {
    const started = Date.now();
    const errors = [...refused];
    const valid: OrderRow[] = [];
    const firstLine = new Map<string, number>();
    for (const r of raw) {
      const parsed = parseOrderRow(r, this.timezone);
      if (!parsed.ok) {
        errors.push(parsed.error);
        continue;
      }
      // Case-folded: MySQL's unique key on order_no ignores case, so 'a1' and 'A1' are one order on both engines.
      const key = parsed.order.orderNo.toLowerCase();
      const seen = firstLine.get(key);
      if (seen !== undefined) {
        errors.push({ line: r.line, code: 'duplicate_order_no', message: `订单号 ${parsed.order.orderNo} 在本次导入中重复（首次出现在第 ${seen} 行），已忽略` });
        continue;
      }
      firstLine.set(key, r.line);
      valid.push(parsed.order);
    }

    const report = { imported: 0, updated: 0, unchanged: 0 };
    const touched = new Set<string>();
    const movedFrom = new Set<string>();
    for (let i = 0; i < valid.length; i += IMPORT_CHUNK_ROWS) {
      const chunk = valid.slice(i, i + IMPORT_CHUNK_ROWS);
      // Counted from the committed attempt: Db.tx re-runs the whole function after a deadlock.
      const counts = await this.db.tx(async (em) => {
        const now = this.clock.now();
        const existing = await this.orders.findByOrderNosInTx(em, chunk.map((o) => o.orderNo));
        // The customers whose stored order totals this chunk changes (each order's, and the one a moved order had),
        // locked before any order is written: concurrent imports take turns per customer, and a customer erased
        // meanwhile is unknown here rather than left with orders (docs/audiences.md §Order totals on the customer).
        const known = await this.customerRows.lockExistingInTx(em, [...new Set([...chunk.map((o) => o.externalUserId), ...[...existing.values()].map((e) => e.externalUserId)])]);
        const byFolded = new Map([...existing.values()].map((e) => [e.orderNo.toLowerCase(), e]));
        const writes: Order[] = [];
        const fresh: Order[] = [];
        const c = { imported: 0, updated: 0, unchanged: 0, refused: [] as OrderRowError[] };
        for (const o of chunk) {
          if (!known.has(o.externalUserId)) {
            c.refused.push({ line: o.line, code: 'unknown_customer', message: `客户不存在：${o.externalUserId}（需先在客户档案中）` });
            continue;
          }
          const before = existing.get(o.orderNo);
          const caseTwin = before ? undefined : byFolded.get(o.orderNo.toLowerCase());
          if (caseTwin) {
            // Only MySQL finds these (case-insensitive collation); writing would silently overwrite the other order.
            c.refused.push({ line: o.line, code: 'order_no_conflict', message: `订单号 ${o.orderNo} 与已有订单 ${caseTwin.orderNo} 仅大小写不同，未导入` });
          } else if (!before) {
            c.imported++;
            const order = { id: newId(now.getTime()), externalUserId: o.externalUserId, orderNo: o.orderNo, amountCents: o.amountCents, orderedAt: o.orderedAt, createdAt: now };
            writes.push(order);
            fresh.push(order);
          } else if (before.externalUserId === o.externalUserId && before.amountCents === o.amountCents && before.orderedAt.getTime() === o.orderedAt.getTime()) {
            c.unchanged++;
          } else {
            c.updated++;
            writes.push({ ...before, externalUserId: o.externalUserId, amountCents: o.amountCents, orderedAt: o.orderedAt });
          }
        }
        await this.orders.upsertManyInTx(em, writes);
        await this.loyalty?.creditOrdersInTx(em, fresh, now);
        if (fresh.length > 0) await this.onNewOrdersInTx?.(em, fresh, now);
        // A moved order changes its previous customer's history too (for the predictions, not the points).
        const moved = writes.flatMap((w) => [...existing.values()].filter((e) => e.id === w.id && e.externalUserId !== w.externalUserId).map((e) => e.externalUserId));
        return { ...c, touched: writes.map((w) => w.externalUserId), moved };
      });
      for (const ext of counts.touched) touched.add(ext);
      for (const ext of counts.moved) movedFrom.add(ext);
      report.imported += counts.imported;
      report.updated += counts.updated;
      report.unchanged += counts.unchanged;
      errors.push(...counts.refused);
    }

    if (touched.size > 0) await this.loyalty?.afterImport([...touched]);
    if (touched.size + movedFrom.size > 0 && this.repurchase) {
      // The orders are committed whatever happens here; a prediction that fails now is made by the nightly pass.
      await this.repurchase.refreshCustomers([...new Set([...touched, ...movedFrom])]).catch((err: unknown) => this.log.warn({ err }, 'repurchase predictions after import failed'));
    }
    errors.sort((a, b) => a.line - b.line);
    this.log.info({ ...report, failed: errors.length, rows: raw.length + refused.length, ms: Date.now() - started }, 'orders imported');
    return { ...report, failed: errors.length, errors: errors.slice(0, MAX_REPORTED_ERRORS) };
  }
}
