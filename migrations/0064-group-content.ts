import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * Group broadcasts and group welcome templates may carry 素材库 items (`content_ids`, a JSON array of item ids).
 * A group broadcast resolves them when each task is submitted, so `group_broadcast_tasks.sent_text` keeps the text that
 * task's add_msg_template carried: reconciliation after a crash matches WeCom's message by it (docs/groups.md §Crash safety).
 */
export class GroupContent1795000000064 implements MigrationInterface {
  name = 'GroupContent1795000000064';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.addColumn('group_broadcasts', new TableColumn(c.json('content_ids')));
    await q.addColumn('group_broadcast_tasks', new TableColumn(c.text('sent_text')));
    await q.addColumn('group_welcome_templates', new TableColumn(c.json('content_ids')));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('group_welcome_templates', 'content_ids');
    await q.dropColumn('group_broadcast_tasks', 'sent_text');
    await q.dropColumn('group_broadcasts', 'content_ids');
  }
}
