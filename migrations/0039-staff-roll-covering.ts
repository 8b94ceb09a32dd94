import { TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The nightly staff roll (docs/analytics.md §Size): each day's mass-send tasks come through
 * `ix_delivery_batches_submitted` (submitted_at only), so each task's row was read from the table for its member and
 * msgid, and each task's recipients through `ix_deliveries_batch` (batch_id only), so each recipient's row was read
 * for its status, send time and reason: scattered rows, from disk on MySQL with a small buffer pool (43 s of a night
 * at 1,000,000 customers). Both indexes now hold what the roll reads (the task's id is in the first for SQLite, whose
 * secondary indexes carry the rowid, not the primary key), so it reads the indexes alone. The narrower ones are their
 * prefixes and go: a lookup by batch or by submission time uses the new ones as it used the old.
 */
export class StaffRollCovering1795000000039 implements MigrationInterface {
  name = 'StaffRollCovering1795000000039';

  async up(q: QueryRunner): Promise<void> {
    await q.createIndex('deliveries', new TableIndex({ name: 'ix_deliveries_batch_outcome', columnNames: ['batch_id', 'status', 'sent_at', 'reason'] }));
    await q.dropIndex('deliveries', 'ix_deliveries_batch');
    await q.createIndex('delivery_batches', new TableIndex({ name: 'ix_delivery_batches_submitted_cover', columnNames: ['submitted_at', 'channel', 'sender_userid', 'msgid', 'id'] }));
    await q.dropIndex('delivery_batches', 'ix_delivery_batches_submitted');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.createIndex('delivery_batches', new TableIndex({ name: 'ix_delivery_batches_submitted', columnNames: ['submitted_at'] }));
    await q.dropIndex('delivery_batches', 'ix_delivery_batches_submitted_cover');
    await q.createIndex('deliveries', new TableIndex({ name: 'ix_deliveries_batch', columnNames: ['batch_id'] }));
    await q.dropIndex('deliveries', 'ix_deliveries_batch_outcome');
  }
}
