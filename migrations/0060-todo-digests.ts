import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * 今日待办 (docs/todo.md §Morning digest): one row per member and local date, the durable claim that makes the morning
 * digest go out once per member per day across instances; and an index for a member's notes due (the list reads them
 * per member, where the care job reads them per date).
 */
export class TodoDigests1795000000060 implements MigrationInterface {
  name = 'TodoDigests1795000000060';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'todo_digests',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.varchar('userid', 64),
          c.date('local_date', { isNullable: false }),
          c.int('item_count'),
          c.varchar('instance_id', 100),
          c.epochMs('claimed_at'),
          // sent | deferred (over the member's cap: in their next staff digest) | failed; null while in flight.
          c.varchar('outcome', 16, { isNullable: true }),
          c.epochMs('finished_at', { isNullable: true }),
        ],
        uniques: [{ name: 'uq_todo_digests_member_day', columnNames: ['userid', 'local_date'] }],
      }),
    );
    await q.createIndex('notes', new TableIndex({ name: 'ix_notes_member_due', columnNames: ['userid', 'due_date'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('notes', 'ix_notes_member_due');
    await q.dropTable('todo_digests');
  }
}
