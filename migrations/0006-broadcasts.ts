import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * Operator broadcasts (定时群发): one row per broadcast. Its messages are ledger rows (`deliveries.broadcast_id`,
 * migration 0003); this table holds the definition, the lifecycle and the planning claim.
 */
export class Broadcasts1795000000006 implements MigrationInterface {
  name = 'Broadcasts1795000000006';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'broadcasts',
        engine: c.tableEngine,
        columns: [
          c.uuidId(),
          c.varchar('name', 100),
          c.text('audience', { isNullable: false }),
          c.text('text', { isNullable: false }),
          c.json('attachments'),
          c.varchar('sender_policy', 16),
          c.epochMs('send_at'),
          // scheduled | planning | sending | done | cancelled | failed
          c.varchar('status', 16),
          c.varchar('reason', 200, { isNullable: true }),
          c.int('audience_count'),
          c.int('tasks_estimate'),
          c.bool('personalized'),
          c.varchar('created_by', 64, { isNullable: true }),
          // The planning claim: a compare-and-set on status moves scheduled → planning for exactly one instance; the
          // token fences every later write of that planning run, and claimed_at (renewed per page) lets another
          // instance take over a run whose process died.
          c.varchar('claim_token', 36, { isNullable: true }),
          c.varchar('claimed_by', 64, { isNullable: true }),
          c.epochMs('claimed_at', { isNullable: true }),
          c.int('attempts'),
          c.epochMs('planned_at', { isNullable: true }),
          c.epochMs('finished_at', { isNullable: true }),
          c.epochMs('cancelled_at', { isNullable: true }),
          c.epochMs('created_at'),
          c.epochMs('updated_at'),
        ],
        indices: [
          new TableIndex({ name: 'ix_broadcasts_status_send_at', columnNames: ['status', 'send_at'] }),
          new TableIndex({ name: 'ix_broadcasts_created_at', columnNames: ['created_at'] }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('broadcasts');
  }
}
