import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/** The callback inbox, API tokens and the customer timeline. */
export class InboxTokensTimeline1795000000001 implements MigrationInterface {
  name = 'InboxTokensTimeline1795000000001';

  async up(q: QueryRunner): Promise<void> {
    const engine = engineOfDataSource(q.connection);
    const c = columns(engine);
    if (engine === 'mysql') {
      // Chinese names and emoji need utf8mb4 whatever the server default is.
      await q.query('ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci');
    }
    await q.createTable(
      new Table({
        name: 'inbox_events',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.varchar('dedupe_key', 64),
          c.varchar('kind', 120),
          c.varchar('subject_key', 191, { isNullable: true }),
          c.varchar('status', 16),
          c.int('attempts'),
          c.epochMs('received_at'),
          c.epochMs('available_at'),
          c.varchar('lease_owner', 36, { isNullable: true }),
          c.epochMs('processed_at', { isNullable: true }),
          c.text('error'),
          c.text('payload', { isNullable: false }),
          c.epochMs('create_time', { isNullable: true }),
        ],
        uniques: [{ name: 'uq_inbox_events_dedupe_key', columnNames: ['dedupe_key'] }],
        indices: [
          new TableIndex({ name: 'ix_inbox_events_status_available', columnNames: ['status', 'available_at'] }),
          new TableIndex({ name: 'ix_inbox_events_subject', columnNames: ['subject_key', 'status'] }),
          new TableIndex({ name: 'ix_inbox_events_received', columnNames: ['received_at'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'api_tokens',
        engine: c.tableEngine,
        columns: [
          c.uuidId(),
          c.varchar('name', 100),
          c.varchar('role', 16),
          c.varchar('userid', 64, { isNullable: true }),
          c.varchar('token_hash', 64),
          c.epochMs('created_at'),
          c.epochMs('last_used_at', { isNullable: true }),
          c.epochMs('revoked_at', { isNullable: true }),
        ],
        uniques: [{ name: 'uq_api_tokens_hash', columnNames: ['token_hash'] }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'timeline_entries',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.varchar('external_user_id', 64, { isNullable: true }),
          c.varchar('staff_userid', 64, { isNullable: true }),
          c.varchar('kind', 64),
          c.varchar('summary', 500),
          c.json('data'),
          c.varchar('source', 32),
          c.varchar('source_id', 128),
          c.epochMs('occurred_at'),
          c.epochMs('created_at'),
        ],
        // One entry per source record: replaying an event or re-pulling a KF message adds nothing.
        uniques: [{ name: 'uq_timeline_source', columnNames: ['source', 'source_id'] }],
        indices: [new TableIndex({ name: 'ix_timeline_customer', columnNames: ['external_user_id', 'occurred_at'] })],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('timeline_entries');
    await q.dropTable('api_tokens');
    await q.dropTable('inbox_events');
  }
}
