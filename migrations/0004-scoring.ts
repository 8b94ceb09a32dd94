import { TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * Scoring and behaviour tags: behaviour tag rules carry an audience expression, and the indexes the
 * nightly `scoring` job reads by (customers' stage and RFM segment, one rule's tag rows by customer range, one
 * customer's orders by date).
 */
export class Scoring1795000000004 implements MigrationInterface {
  name = 'Scoring1795000000004';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    // A behaviour rule's condition; audiences may be up to 4000 characters, more than `pattern` holds.
    await q.addColumn('tag_rules', new TableColumn(c.text('audience')));
    await q.createIndex('customers', new TableIndex({ name: 'ix_customers_stage', columnNames: ['stage'] }));
    await q.createIndex('customers', new TableIndex({ name: 'ix_customers_rfm', columnNames: ['rfm'] }));
    // The job walks customers in key ranges; without rule_id + customer each range would re-read all of a rule's rows.
    await q.createIndex('customer_tags', new TableIndex({ name: 'ix_customer_tags_rule_customer', columnNames: ['rule_id', 'external_user_id'] }));
    // Covers the per-page order aggregate (count, sum, latest) without touching the table rows.
    await q.createIndex('orders', new TableIndex({ name: 'ix_orders_customer_ordered', columnNames: ['external_user_id', 'ordered_at', 'amount_cents'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('orders', 'ix_orders_customer_ordered');
    await q.dropIndex('customer_tags', 'ix_customer_tags_rule_customer');
    await q.dropIndex('customers', 'ix_customers_rfm');
    await q.dropIndex('customers', 'ix_customers_stage');
    await q.dropColumn('tag_rules', 'audience');
  }
}
