import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * Care and campaign results (触达效果, docs/analytics.md §Care and campaign results):
 * - `analytics_daily_reach`: per local day (the delivery's `local_date`), source (care rule, win-back campaign or
 *   broadcast), sender, ledger status and skip reason, how many ledger rows, how far they got (submitted, confirmed)
 *   and what followed within 7 days (orders, revenue, WeChat-KF replies). Sender '*' rows sum every sender of the
 *   (day, source, status, reason), so a dashboard reads a few rows per source and day instead of one per member;
 * - `analytics_reach_days`: when each day was last rolled, and the day its outcomes were counted through;
 * - an index of the ledger by `local_date`, so a day's roll reads one range instead of the whole ledger.
 */
export class AnalyticsReach1795000000030 implements MigrationInterface {
  name = 'AnalyticsReach1795000000030';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'analytics_daily_reach',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.date('day', { isNullable: false }),
          c.varchar('kind', 16),
          c.varchar('source_id', 36),
          // The sending member; '' when the row had none (no active follower), '*' for the all-senders summary.
          c.varchar('userid', 64),
          c.varchar('status', 16),
          // The skip (or failure) reason's stable code, '' when the row has none.
          c.varchar('reason', 32, { default: "''" }),
          c.int('messages'),
          c.int('submitted'),
          c.int('confirmed'),
          // Rows whose 7-day window had closed when the day was rolled, and the outcomes (open windows count so far).
          c.int('matured'),
          c.int('ordered'),
          c.int('ordered_matured'),
          c.int('orders'),
          { name: 'revenue_cents', type: 'bigint', isNullable: false, default: 0 },
          c.int('replied'),
          c.int('replied_matured'),
        ],
        uniques: [{ name: 'uq_analytics_reach', columnNames: ['day', 'kind', 'source_id', 'userid', 'status', 'reason'] }],
        // Reads are by member (or '*') over a range of days, optionally one kind and source.
        indices: [new TableIndex({ name: 'ix_analytics_reach_member', columnNames: ['userid', 'day', 'kind', 'source_id'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'analytics_reach_days',
        engine: c.tableEngine,
        columns: [c.date('day', { isNullable: false, isPrimary: true }), c.epochMs('rolled_at'), c.date('outcomes_through', { isNullable: false })],
      }),
    );
    await q.createIndex('deliveries', new TableIndex({ name: 'ix_deliveries_local_date', columnNames: ['local_date'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('deliveries', 'ix_deliveries_local_date');
    await q.dropTable('analytics_reach_days');
    await q.dropTable('analytics_daily_reach');
  }
}
