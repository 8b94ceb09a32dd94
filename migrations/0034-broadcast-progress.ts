import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * The broadcast detail page (GET /api/v1/broadcasts/:id/progress and POST …/:id/remind):
 * - the ledger by (broadcast, member, task, status, reason, msgid): the progress's two counts group a broadcast's rows
 *   by these, and through `ix_deliveries_broadcast` (broadcast_id only) each of a 100,000-recipient broadcast's rows
 *   was read from the table on every view (the page asks every 15 s). They now read this index alone, in member and
 *   task order; the narrower index is its prefix and goes;
 * - `broadcast_reminders`: each remind_groupmsg_send the bot made for a task, so it keeps to WeCom's 3 reminders per
 *   task per 24 h (docs/wecom-protocol.md §Reminding members of a mass message) and the page shows what was used.
 */
export class BroadcastProgress1795000000034 implements MigrationInterface {
  name = 'BroadcastProgress1795000000034';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createIndex('deliveries', new TableIndex({ name: 'ix_deliveries_broadcast_progress', columnNames: ['broadcast_id', 'sender_userid', 'batch_id', 'status', 'reason', 'msgid'] }));
    await q.dropIndex('deliveries', 'ix_deliveries_broadcast');
    await q.createTable(
      new Table({
        name: 'broadcast_reminders',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.varchar('broadcast_id', 36),
          c.varchar('batch_id', 36),
          c.varchar('msgid', 64),
          c.varchar('sender_userid', 64),
          // Who asked (principalLabel).
          c.varchar('requested_by', 100),
          c.epochMs('reminded_at'),
        ],
        indices: [
          new TableIndex({ name: 'ix_broadcast_reminders_msgid', columnNames: ['msgid', 'reminded_at'] }),
          new TableIndex({ name: 'ix_broadcast_reminders_broadcast', columnNames: ['broadcast_id', 'sender_userid', 'reminded_at'] }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('broadcast_reminders');
    await q.createIndex('deliveries', new TableIndex({ name: 'ix_deliveries_broadcast', columnNames: ['broadcast_id'] }));
    await q.dropIndex('deliveries', 'ix_deliveries_broadcast_progress');
  }
}
