import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * 员工任务 (docs/todo.md §Staff tasks): one row per task for one member. UNIQUE (source, source_ref) makes creating
 * the same task twice, from two instances too, leave one row (docs/todo.md §Once per source).
 */
export class StaffTasks1795000000057 implements MigrationInterface {
  name = 'StaffTasks1795000000057';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'staff_tasks',
        engine: c.tableEngine,
        columns: [
          c.uuidId(),
          // journey | manual
          c.varchar('source', 16),
          c.varchar('source_ref', 120),
          c.varchar('userid', 64),
          c.varchar('external_user_id', 64, { isNullable: true }),
          c.varchar('title', 200),
          c.text('text'),
          // MessageAttachment[]
          c.json('attachments'),
          c.epochMs('due_at'),
          // open | done | skipped
          c.varchar('status', 16),
          c.epochMs('snoozed_until', { isNullable: true }),
          c.varchar('skip_reason', 200, { isNullable: true }),
          c.epochMs('done_at', { isNullable: true }),
          // When it was done or skipped (the completion report's "late" reads done_at; this keeps skips' time too).
          c.epochMs('closed_at', { isNullable: true }),
          c.varchar('closed_by', 64, { isNullable: true }),
          c.varchar('created_by', 100, { isNullable: true }),
          c.epochMs('created_at'),
          c.epochMs('updated_at'),
        ],
        uniques: [{ name: 'uq_staff_tasks_source', columnNames: ['source', 'source_ref'] }],
        indices: [
          new TableIndex({ name: 'ix_staff_tasks_member', columnNames: ['userid', 'status', 'due_at'] }),
          new TableIndex({ name: 'ix_staff_tasks_customer', columnNames: ['external_user_id', 'status'] }),
          new TableIndex({ name: 'ix_staff_tasks_due', columnNames: ['due_at'] }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('staff_tasks');
  }
}
