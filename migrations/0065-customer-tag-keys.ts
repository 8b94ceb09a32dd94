import type { MigrationInterface, QueryRunner } from 'typeorm';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * Binary keys for intersecting tags on MySQL (docs/audiences.md §Binary keys for the intersection): customer_tags
 * gets `tag_key` and `customer_key`, the bytes of `tag_id` and `external_user_id` as virtual generated columns, and
 * the index ix_customer_tags_keys (tag_key, customer_key). A count that requires two tags, or counts an OR of tags,
 * walks this index and compares bytes, where ix_customer_tags_tag_customer compares every key under
 * utf8mb4_unicode_ci; the columns themselves and every other statement stay as they were. The engine computes the
 * keys on every write, so no writer changes. Virtual, so the table's rows do not grow; only the index holds them.
 * SQLite intersects in its own plan and gets nothing.
 */
export class CustomerTagKeys1795000000065 implements MigrationInterface {
  name = 'CustomerTagKeys1795000000065';

  async up(q: QueryRunner): Promise<void> {
    if (engineOfDataSource(q.connection) !== 'mysql') return;
    // varchar(64) in utf8mb4 is at most 256 bytes. Adding virtual columns rewrites no row; the index is built in place.
    await q.query(
      `ALTER TABLE customer_tags
         ADD COLUMN tag_key VARBINARY(256) AS (CAST(tag_id AS BINARY)) VIRTUAL,
         ADD COLUMN customer_key VARBINARY(256) AS (CAST(external_user_id AS BINARY)) VIRTUAL`,
    );
    await q.query('CREATE INDEX ix_customer_tags_keys ON customer_tags (tag_key, customer_key)');
  }

  async down(q: QueryRunner): Promise<void> {
    if (engineOfDataSource(q.connection) !== 'mysql') return;
    await q.query('DROP INDEX ix_customer_tags_keys ON customer_tags');
    await q.query('ALTER TABLE customer_tags DROP COLUMN tag_key, DROP COLUMN customer_key');
  }
}
