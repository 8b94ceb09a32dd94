import { TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/** What a dashboard read of the reach rollup sums, beside the columns it selects by. */
const COVER = ['status', 'reason', 'messages', 'submitted', 'confirmed', 'matured', 'ordered', 'ordered_matured', 'orders', 'revenue_cents', 'replied', 'replied_matured'];

/**
 * Reach kept as deliveries happen, and a night that rolls only the days that can still change
 * (docs/analytics.md §Care and campaign results):
 * - the ledger by (`local_date`, `updated_at`): when a day's rows last changed, from the index alone, so the live pass
 *   after each dispatch and result poll counts today again only then, and the night skips a settled day whose ledger
 *   did not change;
 * - `analytics_reach_days.windows_end`: when the last 7-day window of the day's rows ends, as of its last roll (NULL:
 *   not known, rolled again);
 * - the orders by (`created_at`, `ordered_at`): orders imported since a day's roll that fall in its windows;
 * - the rollup's (userid, day, kind, source_id) index widened to hold what a dashboard read sums, so a year's rows
 *   (some 30,000 all-senders rows) are read from the index alone rather than each from the table.
 */
export class ReachLive1795000000033 implements MigrationInterface {
  name = 'ReachLive1795000000033';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createIndex('deliveries', new TableIndex({ name: 'ix_deliveries_local_date_updated', columnNames: ['local_date', 'updated_at'] }));
    await q.addColumn('analytics_reach_days', new TableColumn(c.epochMs('windows_end', { isNullable: true })));
    await q.createIndex('orders', new TableIndex({ name: 'ix_orders_created', columnNames: ['created_at', 'ordered_at'] }));
    await q.dropIndex('analytics_daily_reach', 'ix_analytics_reach_member');
    await q.createIndex('analytics_daily_reach', new TableIndex({ name: 'ix_analytics_reach_member_cover', columnNames: ['userid', 'day', 'kind', 'source_id', ...COVER] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('analytics_daily_reach', 'ix_analytics_reach_member_cover');
    await q.createIndex('analytics_daily_reach', new TableIndex({ name: 'ix_analytics_reach_member', columnNames: ['userid', 'day', 'kind', 'source_id'] }));
    await q.dropIndex('orders', 'ix_orders_created');
    await q.dropColumn('analytics_reach_days', 'windows_end');
    await q.dropIndex('deliveries', 'ix_deliveries_local_date_updated');
  }
}
