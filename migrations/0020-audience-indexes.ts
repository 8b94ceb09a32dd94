import { TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Audience counts at a million customers (docs/audiences.md §How a count stays fast): a `tag:` term is a semi-join
 * from the tag to its customers, read from (tag_id, external_user_id) alone, without visiting the link rows. The
 * new index begins with tag_id, so the old single-column one is dropped as redundant.
 */
export class AudienceIndexes1795000000020 implements MigrationInterface {
  name = 'AudienceIndexes1795000000020';

  async up(q: QueryRunner): Promise<void> {
    await q.createIndex('customer_tags', new TableIndex({ name: 'ix_customer_tags_tag_customer', columnNames: ['tag_id', 'external_user_id'] }));
    await q.dropIndex('customer_tags', 'ix_customer_tags_tag');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.createIndex('customer_tags', new TableIndex({ name: 'ix_customer_tags_tag', columnNames: ['tag_id'] }));
    await q.dropIndex('customer_tags', 'ix_customer_tags_tag_customer');
  }
}
