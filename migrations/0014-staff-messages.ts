import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * App messages to staff (message/send) within WeCom's per-member cap: ≤ 30 per minute and 1,000 per hour per app and
 * member, and the excess is dropped silently (docs/wecom-protocol.md §API rate limits). `staff_message_quota` counts
 * what each member was sent per minute and per hour, shared by every instance; `staff_message_digest` holds the alerts
 * a member could not be sent at once, sent later as one digest message.
 */
export class StaffMessages1795000000014 implements MigrationInterface {
  name = 'StaffMessages1795000000014';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'staff_message_quota',
        engine: c.tableEngine,
        columns: [
          c.varchar('userid', 64, { isPrimary: true }),
          // `m:<epoch minute>` or `h:<epoch hour>`.
          c.varchar('bucket', 24, { isPrimary: true }),
          c.int('sent'),
          c.epochMs('created_at'),
        ],
        indices: [new TableIndex({ name: 'ix_staff_message_quota_created', columnNames: ['created_at'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'staff_message_digest',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.varchar('userid', 64),
          c.varchar('kind', 32),
          // The customer the line is about (it names them): erasure deletes the line with the rest.
          c.varchar('external_user_id', 64, { isNullable: true }),
          c.text('line', { isNullable: false }),
          c.epochMs('created_at'),
          c.epochMs('sent_at', { isNullable: true }),
          c.varchar('msgid', 64, { isNullable: true }),
        ],
        indices: [
          new TableIndex({ name: 'ix_staff_message_digest_pending', columnNames: ['sent_at', 'userid'] }),
          new TableIndex({ name: 'ix_staff_message_digest_customer', columnNames: ['external_user_id'] }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('staff_message_digest');
    await q.dropTable('staff_message_quota');
  }
}
