import { TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * A priority lane in the inbox: events whose handling has a deadline (an add's welcome_code lives 20 s,
 * docs/wecom-protocol.md §Welcome messages) are claimed ahead of a backlog of ordinary events. The index lets the lane
 * be read without scanning the backlog.
 */
export class InboxPriority1795000000008 implements MigrationInterface {
  name = 'InboxPriority1795000000008';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.addColumn('inbox_events', new TableColumn(c.int('priority', { default: 0 })));
    await q.createIndex('inbox_events', new TableIndex({ name: 'ix_inbox_events_lane', columnNames: ['priority', 'status', 'available_at'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('inbox_events', 'ix_inbox_events_lane');
    await q.dropColumn('inbox_events', 'priority');
  }
}
