import { TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * A journey task's app-message reminder is owed by its row (docs/todo.md §Reminders): `reminder` is owed, sent or
 * dropped, claimed by one instance at a time, so a crash between creating the task and sending it loses no reminder
 * and two instances never both send it. Tasks from before this migration owe none.
 */
export class StaffTaskReminders1795000000063 implements MigrationInterface {
  name = 'StaffTaskReminders1795000000063';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.addColumns('staff_tasks', [
      // owed | sent | dropped (the task closed first, or a day of failed sends); null: none was asked for.
      new TableColumn(c.varchar('reminder', 8, { isNullable: true })),
      new TableColumn(c.varchar('reminder_claimed_by', 100, { isNullable: true })),
      new TableColumn(c.epochMs('reminder_claimed_at', { isNullable: true })),
      new TableColumn(c.epochMs('reminded_at', { isNullable: true })),
    ]);
    await q.createIndex('staff_tasks', new TableIndex({ name: 'ix_staff_tasks_reminder', columnNames: ['reminder', 'reminder_claimed_at'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('staff_tasks', 'ix_staff_tasks_reminder');
    await q.dropColumns('staff_tasks', ['reminder', 'reminder_claimed_by', 'reminder_claimed_at', 'reminded_at']);
  }
}
