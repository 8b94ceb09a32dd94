import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

const WEEKS = Array.from({ length: 12 }, (_, i) => `retained_w${i + 1}`);

/**
 * Analytics, retention cohorts (留存) and churn analysis (流失分析), docs/analytics.md §Retention cohorts and §Churn analysis:
 * - `analytics_cohort_days`: per add day, member and channel, the adds and how many of those relations were active at
 *   the end of each of the 12 weeks after (counted only for the weeks that had ended when the day was rolled), plus
 *   the rolled day's summary rows (userid '' all members, channel '*' all channels);
 * - `analytics_loss_profiles`: one row per loss, what the bot knew of the relation at that moment (days since the last
 *   interaction and the last order, the bot's messages and the customer's KF messages in the 30 days before), with
 *   no customer id: nothing in it is personal data;
 * - `analytics_daily_churn`: losses per day, member, channel and bucket of each dimension, counted as losses are
 *   recorded and rebuilt from the profiles by the nightly job;
 * - `analytics_daily_churn_base`: the nightly snapshot of active relations per the same buckets (the denominator);
 * - `analytics_retention_days`: when each day's cohorts and churn rows were last rolled, and its base snapshot taken.
 */
export class AnalyticsRetention1795000000028 implements MigrationInterface {
  name = 'AnalyticsRetention1795000000028';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'analytics_cohort_days',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.date('day', { isNullable: false }),
          c.varchar('userid', 64, { default: "''" }),
          c.varchar('channel_id', 36, { default: "''" }),
          c.int('adds'),
          ...WEEKS.map((w) => c.int(w)),
          // The last day the weekly marks were counted through: week k is known when day + 7k <= marks_through.
          c.date('marks_through', { isNullable: false }),
        ],
        uniques: [{ name: 'uq_analytics_cohort_key', columnNames: ['day', 'userid', 'channel_id'] }],
        indices: [
          new TableIndex({ name: 'ix_analytics_cohort_member', columnNames: ['userid', 'channel_id', 'day'] }),
          new TableIndex({ name: 'ix_analytics_cohort_channel', columnNames: ['channel_id', 'userid', 'day'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'analytics_loss_profiles',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.epochMs('occurred_at'),
          c.date('day', { isNullable: false }),
          c.varchar('kind', 24),
          c.varchar('userid', 64),
          c.varchar('channel_id', 36, { default: "''" }),
          // Null: never (no interaction or add known; no order).
          { name: 'since_interaction_days', type: 'integer', isNullable: true },
          { name: 'since_order_days', type: 'integer', isNullable: true },
          c.int('bot_messages_30d'),
          c.int('broadcasts_30d'),
          c.int('kf_messages_30d'),
          c.epochMs('created_at'),
        ],
        indices: [new TableIndex({ name: 'ix_analytics_loss_profiles_day', columnNames: ['day'] })],
      }),
    );
    for (const [name, counts] of [
      ['analytics_daily_churn', ['lost_by_customer', 'lost_by_staff']],
      ['analytics_daily_churn_base', ['relations']],
    ] as const) {
      await q.createTable(
        new Table({
          name,
          engine: c.tableEngine,
          columns: [
            c.serialId(),
            c.date('day', { isNullable: false }),
            c.varchar('dimension', 16),
            c.varchar('bucket', 16),
            c.varchar('userid', 64, { default: "''" }),
            c.varchar('channel_id', 36, { default: "''" }),
            ...counts.map((col) => c.int(col)),
          ],
          uniques: [{ name: `uq_${name}_key`, columnNames: ['day', 'dimension', 'bucket', 'userid', 'channel_id'] }],
          indices: [
            new TableIndex({ name: `ix_${name}_member`, columnNames: ['userid', 'channel_id', 'day'] }),
            new TableIndex({ name: `ix_${name}_channel`, columnNames: ['channel_id', 'userid', 'day'] }),
          ],
        }),
      );
    }
    await q.createTable(
      new Table({
        name: 'analytics_retention_days',
        engine: c.tableEngine,
        columns: [
          c.date('day', { isNullable: false, isPrimary: true }),
          c.date('cohorts_through'),
          c.epochMs('churn_rolled_at', { isNullable: true }),
          c.epochMs('churn_base_at', { isNullable: true }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['analytics_retention_days', 'analytics_daily_churn_base', 'analytics_daily_churn', 'analytics_loss_profiles', 'analytics_cohort_days']) await q.dropTable(t, true);
  }
}
