import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * 流失原因 (docs/churn.md §Causes): one row per lost relation, with the cause the bot derives from the customer's last
 * churn-risk score and the one a member records; the analytics count them by cause.
 */
export class ChurnCauses1795000000047 implements MigrationInterface {
  name = 'ChurnCauses1795000000047';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'churn_causes',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.varchar('external_user_id', 64),
          c.varchar('userid', 64),
          // customer | staff: who ended the relation
          c.varchar('lost_by', 16),
          c.epochMs('lost_at'),
          // The last score before the loss, null when the customer was never scored.
          c.int('score', { isNullable: true, default: null }),
          // The largest reason's code, or `no_signal`.
          c.varchar('cause', 32),
          c.json('reasons'),
          // What a member recorded (price, service, product, competitor, no_need, other), and a note.
          c.varchar('staff_cause', 32, { isNullable: true }),
          c.varchar('staff_note', 200, { isNullable: true }),
          c.varchar('recorded_by', 100, { isNullable: true }),
          c.epochMs('recorded_at', { isNullable: true }),
        ],
        uniques: [{ name: 'uq_churn_causes_loss', columnNames: ['external_user_id', 'userid', 'lost_at'] }],
        indices: [new TableIndex({ name: 'ix_churn_causes_lost', columnNames: ['lost_at'] })],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('churn_causes');
  }
}
