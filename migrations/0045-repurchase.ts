import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * 需求预测 / 复购提醒 (docs/repurchase.md): each customer's predicted next order (customers with two order days or
 * more), and the typical interval of each segment the predictions were shrunk toward, kept by the nightly `scoring`
 * job and after every order import.
 */
export class Repurchase1795000000045 implements MigrationInterface {
  name = 'Repurchase1795000000045';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'repurchase_predictions',
        engine: c.tableEngine,
        columns: [
          c.varchar('external_user_id', 64, { isPrimary: true }),
          // The predicted next order's local date; audiences `due_in` / `overdue` and the 复购提醒 occasion read it.
          c.date('due_on', { isNullable: false }),
          // The latest order's local date: the cycle the prediction belongs to (the care occasion's key).
          c.date('last_order_on', { isNullable: false }),
          c.int('order_days'),
          // Days, in tenths: the customer's own median interval, the typical interval shrunk toward (null: none), the prediction.
          c.int('own_tenths'),
          c.int('typical_tenths', { isNullable: true, default: null }),
          c.int('interval_days'),
          c.varchar('segment', 32, { isNullable: true }),
          c.epochMs('updated_at'),
        ],
        indices: [new TableIndex({ name: 'ix_repurchase_due', columnNames: ['due_on', 'external_user_id'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'repurchase_segments',
        engine: c.tableEngine,
        columns: [
          // An RFM segment, or '' for the corp-wide typical interval.
          c.varchar('segment', 32, { isPrimary: true }),
          c.int('typical_tenths'),
          c.int('customers'),
          c.epochMs('updated_at'),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('repurchase_segments');
    await q.dropTable('repurchase_predictions');
  }
}
