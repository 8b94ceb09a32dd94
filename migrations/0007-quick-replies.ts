import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * Quick replies (快捷回复) for the staff sidebar (聊天工具栏, docs/wecom-protocol.md §Chat toolbar sidebar): operator-managed
 * texts staff send into the chat with one tap. Deleting one keeps a tombstone (`deleted_at`) so a default seeded from
 * config/quick-replies.json (by `seed_key`) never comes back after an operator removed it.
 */
export class QuickReplies1795000000007 implements MigrationInterface {
  name = 'QuickReplies1795000000007';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'quick_replies',
        engine: c.tableEngine,
        columns: [
          c.uuidId(),
          c.varchar('seed_key', 64, { isNullable: true }),
          // 分组, e.g. 问候 / 售后; the sidebar groups by it.
          c.varchar('category', 32),
          c.varchar('title', 64),
          // May use {{name}} and {{staff}}, rendered per customer when the sidebar lists them.
          c.text('text', { isNullable: false }),
          c.int('sort'),
          c.epochMs('created_at'),
          c.epochMs('updated_at'),
          c.epochMs('deleted_at', { isNullable: true }),
        ],
        uniques: [{ name: 'uq_quick_replies_seed_key', columnNames: ['seed_key'] }],
        indices: [new TableIndex({ name: 'ix_quick_replies_deleted_sort', columnNames: ['deleted_at', 'sort'] })],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('quick_replies');
  }
}
