import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * Analytics (数据分析, docs/analytics.md):
 * - `analytics_relation_events`: every relation change as it happened (added, lost by either side, transferred), the
 *   raw record the event figures are recomputed from. `follow_relations` keeps only a relation's latest state and the
 *   timeline is pruned by retention, so neither can say what happened on a past day;
 * - `analytics_daily_growth`: per local day, member and channel, the changes and the matured outcomes of that day's
 *   adds (retained 7 / 30 days, ordered within 30 days, revenue);
 * - `analytics_daily_growth_tags`: the same changes per tag, a customer counted once per tag whichever relations carry it;
 * - `analytics_daily_totals`: the nightly snapshot of customers in an active relation, per member and for the corp;
 * - `analytics_days`: when each day was last rolled and snapshotted.
 */
export class Analytics1795000000024 implements MigrationInterface {
  name = 'Analytics1795000000024';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'analytics_relation_events',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.epochMs('occurred_at'),
          c.varchar('kind', 24),
          c.varchar('userid', 64),
          c.varchar('external_user_id', 64),
          c.varchar('channel_id', 36, { isNullable: true }),
          // JSON array of the tag ids the customer carried at the time, over all their relations.
          c.json('tag_ids'),
          c.epochMs('created_at'),
        ],
        indices: [
          // A day's roll reads a range of occurred_at; the retention of an add looks for the same relation's later loss.
          new TableIndex({ name: 'ix_analytics_events_time', columnNames: ['occurred_at'] }),
          new TableIndex({ name: 'ix_analytics_events_customer', columnNames: ['external_user_id', 'occurred_at'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'analytics_daily_growth',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.date('day', { isNullable: false }),
          c.varchar('userid', 64),
          // '' when the relation came through no channel of ours.
          c.varchar('channel_id', 36, { default: "''" }),
          c.int('added'),
          c.int('lost_by_customer'),
          c.int('lost_by_staff'),
          c.int('transferred_in'),
          c.int('transferred_out'),
          c.int('retained_7d'),
          c.int('retained_30d'),
          c.int('ordered_30d'),
          { name: 'revenue_30d_cents', type: 'bigint', isNullable: false, default: 0 },
          // The last day the outcome columns were computed through; null until the day is first rolled.
          c.date('outcomes_through'),
        ],
        uniques: [{ name: 'uq_analytics_growth_key', columnNames: ['day', 'userid', 'channel_id'] }],
        indices: [
          new TableIndex({ name: 'ix_analytics_growth_channel', columnNames: ['channel_id', 'day'] }),
          new TableIndex({ name: 'ix_analytics_growth_staff', columnNames: ['userid', 'day'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'analytics_daily_growth_tags',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.date('day', { isNullable: false }),
          c.varchar('group_id', 64),
          c.varchar('tag_id', 64),
          c.varchar('userid', 64),
          c.int('added'),
          c.int('lost_by_customer'),
          c.int('lost_by_staff'),
        ],
        uniques: [{ name: 'uq_analytics_growth_tags_key', columnNames: ['day', 'tag_id', 'userid'] }],
        indices: [new TableIndex({ name: 'ix_analytics_growth_tags_group', columnNames: ['group_id', 'day'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'analytics_daily_totals',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.date('day', { isNullable: false }),
          // '' is the corp: customers with at least one active relation, each counted once.
          c.varchar('userid', 64, { default: "''" }),
          c.int('customers'),
          c.epochMs('taken_at'),
        ],
        uniques: [{ name: 'uq_analytics_totals_key', columnNames: ['day', 'userid'] }],
        indices: [new TableIndex({ name: 'ix_analytics_totals_staff', columnNames: ['userid', 'day'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'analytics_days',
        engine: c.tableEngine,
        columns: [c.date('day', { isNullable: false, isPrimary: true }), c.epochMs('rolled_at', { isNullable: true }), c.epochMs('snapshot_at', { isNullable: true })],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['analytics_days', 'analytics_daily_totals', 'analytics_daily_growth_tags', 'analytics_daily_growth', 'analytics_relation_events']) await q.dropTable(t, true);
  }
}
