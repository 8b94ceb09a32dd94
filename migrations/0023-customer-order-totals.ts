import { TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/** Orders per backfill statement: each statement updates the customers of this many orders, and commits on MySQL. */
const BACKFILL_ORDERS = 10_000;

/**
 * Each customer's order count and total (whole cents) stored on the customer
 * (docs/audiences.md §Order totals on the customer), kept by every order writer in the same transaction (OrderRepository.upsertManyInTx). Audience terms
 * `orders` and `spent` compare these columns instead of aggregating the customer's orders in every statement: on
 * MariaDB that aggregate read about 4,150 pages of the orders index per count of a million customers. On MySQL the
 * covering index a count looks its candidates up in gains both columns.
 *
 * The backfill runs in key ranges of the orders' customers, a statement per range: on MySQL the columns are added
 * first (an implicit commit), so each range commits on its own; on SQLite the whole migration is one transaction.
 * Re-running after a crash on MySQL adds nothing twice and recomputes every range.
 */
export class CustomerOrderTotals1795000000023 implements MigrationInterface {
  name = 'CustomerOrderTotals1795000000023';

  async up(q: QueryRunner): Promise<void> {
    const isMysql = engineOfDataSource(q.connection) === 'mysql';
    // Raw ALTERs: TypeORM's addColumn on SQLite copies the whole table into a new one (a million rows); SQLite adds a
    // column with a constant default in place, and MariaDB instantly.
    if (!(await q.hasColumn('customers', 'order_count'))) {
      await q.query(`ALTER TABLE customers ADD COLUMN order_count ${isMysql ? 'INT' : 'integer'} NOT NULL DEFAULT 0`);
    }
    if (!(await q.hasColumn('customers', 'order_total_cents'))) {
      await q.query(`ALTER TABLE customers ADD COLUMN order_total_cents ${isMysql ? 'BIGINT' : 'bigint'} NOT NULL DEFAULT 0`);
    }
    for (let lo: string | null = ''; lo !== null; ) {
      const [row] = (await q.query(`SELECT external_user_id AS id FROM orders WHERE external_user_id > ? ORDER BY external_user_id LIMIT 1 OFFSET ${BACKFILL_ORDERS - 1}`, [lo])) as {
        id: string;
      }[];
      const hi: string | null = row ? String(row.id) : null;
      const range = hi === null ? 'o.external_user_id > ?' : 'o.external_user_id > ? AND o.external_user_id <= ?';
      const totals = `SELECT o.external_user_id AS id, COUNT(*) AS n, SUM(o.amount_cents) AS s FROM orders o WHERE ${range} GROUP BY o.external_user_id`;
      await q.query(
        isMysql
          ? `UPDATE customers c JOIN (${totals}) a ON c.external_user_id = a.id SET c.order_count = a.n, c.order_total_cents = a.s`
          : `UPDATE customers SET order_count = a.n, order_total_cents = a.s FROM (${totals}) AS a WHERE customers.external_user_id = a.id`,
        hi === null ? [lo] : [lo, hi],
      );
      lo = hi;
    }
    // MySQL's count looks its candidates up in this index alone (docs/audiences.md §Counting from the tags first).
    // SQLite never counts in that shape, and there the wider index doubled the cost of recounting a customer's totals,
    // so it keeps (external_user_id, activity).
    if (!isMysql) return;
    const indices = (await q.getTable('customers'))?.indices.map((i) => i.name) ?? [];
    if (!indices.includes('ix_customers_audience_orders')) {
      await q.createIndex('customers', new TableIndex({ name: 'ix_customers_audience_orders', columnNames: ['external_user_id', 'activity', 'order_count', 'order_total_cents'] }));
    }
    if (indices.includes('ix_customers_audience')) await q.dropIndex('customers', 'ix_customers_audience');
  }

  async down(q: QueryRunner): Promise<void> {
    if (engineOfDataSource(q.connection) === 'mysql') {
      await q.createIndex('customers', new TableIndex({ name: 'ix_customers_audience', columnNames: ['external_user_id', 'activity'] }));
      await q.dropIndex('customers', 'ix_customers_audience_orders');
    }
    await q.query('ALTER TABLE customers DROP COLUMN order_total_cents');
    await q.query('ALTER TABLE customers DROP COLUMN order_count');
  }
}
