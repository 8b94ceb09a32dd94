import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * Bulk tag changes from the console's customer list (批量打标签 / 移除标签): one job per request, one item per customer.
 * A job is worked through its items under a lease, so a restart or a second instance picks it up where it stopped
 * (docs/customers-bulk.md).
 */
export class BulkTagJobs1795000000025 implements MigrationInterface {
  name = 'BulkTagJobs1795000000025';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'bulk_tag_jobs',
        engine: c.tableEngine,
        columns: [
          c.uuidId(),
          // running | done
          c.varchar('status', 16),
          // Who asked (principalLabel) and as whom the tags are applied.
          c.varchar('requested_by', 100),
          c.varchar('viewer_role', 16),
          c.varchar('viewer_userid', 64, { isNullable: true }),
          // Tag ids (JSON arrays), resolved from the names when the job was created.
          c.json('add_tag_ids'),
          c.json('remove_tag_ids'),
          c.int('total'),
          c.varchar('lease_owner', 64, { isNullable: true }),
          c.epochMs('lease_until', { isNullable: true }),
          c.epochMs('created_at'),
          c.epochMs('updated_at'),
          c.epochMs('finished_at', { isNullable: true }),
        ],
        indices: [new TableIndex({ name: 'ix_bulk_tag_jobs_status', columnNames: ['status', 'lease_until'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'bulk_tag_items',
        engine: c.tableEngine,
        columns: [
          c.varchar('job_id', 36, { isPrimary: true }),
          c.varchar('external_user_id', 64, { isPrimary: true }),
          // pending | done | failed
          c.varchar('status', 16),
          c.varchar('error', 255, { isNullable: true }),
          c.epochMs('updated_at'),
        ],
        indices: [new TableIndex({ name: 'ix_bulk_tag_items_status', columnNames: ['job_id', 'status'] })],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('bulk_tag_items');
    await q.dropTable('bulk_tag_jobs');
  }
}
