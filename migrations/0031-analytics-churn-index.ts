import { TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

const COVER = ['bucket', 'lost_by_customer', 'lost_by_staff'];

/**
 * Churn over a year (docs/analytics.md §Size): the split by owner reads the members' summary rows of one dimension
 * (`dimension = 'all' AND channel_id = '*' AND userid <> ''`) and the split by channel the channels' (`userid = ''
 * AND channel_id <> '*'`), but the (userid, channel_id, day) and (channel_id, userid, day) indexes lead with the
 * column the split ranges over, so each read every member's or channel's rows of every dimension and bucket over all
 * days. These lead with the dimension and the fixed side of the split, then the days, and hold what the reads sum,
 * so a year's split reads only its own rows, from the index alone. The corp's rows (userid '', channel '*') are read
 * through the member index, widened to hold them too; the narrower one is its prefix and goes.
 */
export class AnalyticsChurnIndex1795000000031 implements MigrationInterface {
  name = 'AnalyticsChurnIndex1795000000031';

  async up(q: QueryRunner): Promise<void> {
    await q.dropIndex('analytics_daily_churn', 'ix_analytics_daily_churn_member');
    await q.createIndex('analytics_daily_churn', new TableIndex({ name: 'ix_analytics_daily_churn_member_cover', columnNames: ['userid', 'channel_id', 'day', 'dimension', ...COVER] }));
    await q.createIndex('analytics_daily_churn', new TableIndex({ name: 'ix_analytics_daily_churn_dim_channel', columnNames: ['dimension', 'channel_id', 'day', 'userid', ...COVER] }));
    await q.createIndex('analytics_daily_churn', new TableIndex({ name: 'ix_analytics_daily_churn_dim_member', columnNames: ['dimension', 'userid', 'day', 'channel_id', ...COVER] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('analytics_daily_churn', 'ix_analytics_daily_churn_dim_member');
    await q.dropIndex('analytics_daily_churn', 'ix_analytics_daily_churn_dim_channel');
    await q.dropIndex('analytics_daily_churn', 'ix_analytics_daily_churn_member_cover');
    await q.createIndex('analytics_daily_churn', new TableIndex({ name: 'ix_analytics_daily_churn_member', columnNames: ['userid', 'channel_id', 'day'] }));
  }
}
