import { TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

const COUNTS = ['added', 'lost_by_customer', 'lost_by_staff', 'transferred_in', 'transferred_out'];
const OUTCOMES = ['retained_7d', 'retained_30d', 'ordered_30d', 'revenue_30d_cents', 'outcomes_through'];

/**
 * Dashboard reads of rolled days read summary rows (docs/analytics.md §Size) by member and days, or by channel and
 * days, and nothing else of the row: indexes that hold what they read answer from the index alone, instead of one
 * table lookup per row scattered across the table (a year of a channel split is ~11,000 of them). They replace the
 * narrower (userid, day) and (channel_id, day) indexes, which are their prefixes. The tag split's summary rows
 * are read by member and tag group over days.
 */
export class AnalyticsSummaryIndex1795000000027 implements MigrationInterface {
  name = 'AnalyticsSummaryIndex1795000000027';

  async up(q: QueryRunner): Promise<void> {
    await q.dropIndex('analytics_daily_growth', 'ix_analytics_growth_staff');
    await q.dropIndex('analytics_daily_growth', 'ix_analytics_growth_channel');
    await q.createIndex('analytics_daily_growth', new TableIndex({ name: 'ix_analytics_growth_member_cover', columnNames: ['userid', 'day', 'channel_id', ...COUNTS, ...OUTCOMES] }));
    await q.createIndex('analytics_daily_growth', new TableIndex({ name: 'ix_analytics_growth_channel_cover', columnNames: ['channel_id', 'day', 'userid', ...COUNTS] }));
    await q.createIndex('analytics_daily_growth_tags', new TableIndex({ name: 'ix_analytics_growth_tags_member', columnNames: ['userid', 'group_id', 'day'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('analytics_daily_growth_tags', 'ix_analytics_growth_tags_member');
    await q.dropIndex('analytics_daily_growth', 'ix_analytics_growth_channel_cover');
    await q.dropIndex('analytics_daily_growth', 'ix_analytics_growth_member_cover');
    await q.createIndex('analytics_daily_growth', new TableIndex({ name: 'ix_analytics_growth_channel', columnNames: ['channel_id', 'day'] }));
    await q.createIndex('analytics_daily_growth', new TableIndex({ name: 'ix_analytics_growth_staff', columnNames: ['userid', 'day'] }));
  }
}
