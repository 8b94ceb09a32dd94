import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * Analytics, staff performance (员工统计, docs/analytics.md §Staff performance):
 * - `analytics_staff_behavior`: WeCom's own daily figures per member (get_user_behavior_data), pulled nightly; the reply
 *   columns are NULL on days WeCom gave none (no chats);
 * - `analytics_staff_pulls`: per member, the last day pulled and the last failure, so a member WeCom refused is seen and
 *   tried again from where it stopped;
 * - `analytics_staff_daily`: the bot's own figures per member and day, rolled nightly from the delivery ledger and the
 *   notes: mass-send tasks and how the member confirmed them, follow-ups due and done.
 */
export class AnalyticsStaff1795000000029 implements MigrationInterface {
  name = 'AnalyticsStaff1795000000029';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'analytics_staff_behavior',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.varchar('userid', 64),
          // WeCom's day (China time), 'YYYY-MM-DD'.
          c.date('day', { isNullable: false }),
          c.int('chat_cnt'),
          c.int('message_cnt'),
          // The percentage × 100 (60.25 % is 6025): an integer on both engines, no float rounding.
          c.int('reply_percentage_x100', { isNullable: true, default: null }),
          c.int('avg_reply_time', { isNullable: true, default: null }),
          c.int('negative_feedback_cnt'),
          c.int('new_apply_cnt'),
          c.int('new_contact_cnt'),
          c.epochMs('pulled_at'),
        ],
        uniques: [{ name: 'uq_analytics_staff_behavior', columnNames: ['userid', 'day'] }],
        indices: [new TableIndex({ name: 'ix_analytics_staff_behavior_day', columnNames: ['day', 'userid'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'analytics_staff_pulls',
        engine: c.tableEngine,
        columns: [
          c.varchar('userid', 64, { isPrimary: true }),
          // The newest day stored; NULL until the first pull succeeded.
          c.date('last_day'),
          c.epochMs('last_pulled_at', { isNullable: true }),
          c.int('failures'),
          c.epochMs('failed_at', { isNullable: true }),
          c.varchar('last_error', 300, { isNullable: true }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'analytics_staff_daily',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.varchar('userid', 64),
          c.date('day', { isNullable: false }),
          c.int('mass_tasks'),
          c.int('confirmed_late'),
          c.int('never_confirmed'),
          c.int('awaiting'),
          c.int('followups_due'),
          c.int('followups_done'),
          c.epochMs('rolled_at'),
        ],
        uniques: [{ name: 'uq_analytics_staff_daily', columnNames: ['userid', 'day'] }],
        indices: [new TableIndex({ name: 'ix_analytics_staff_daily_day', columnNames: ['day', 'userid'] })],
      }),
    );
    // The nightly roll reads a day's mass tasks by their submission time; the batches table had no such index.
    await q.createIndex('delivery_batches', new TableIndex({ name: 'ix_delivery_batches_submitted', columnNames: ['submitted_at'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('delivery_batches', 'ix_delivery_batches_submitted');
    for (const t of ['analytics_staff_daily', 'analytics_staff_pulls', 'analytics_staff_behavior']) await q.dropTable(t, true);
  }
}
