import { TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * ix_send_slots_period (scope, period, n): the customers who hold slot n of one cap period. A period is full for a
 * customer only when its last slot (n = limit) is taken, so the care calendar finds every customer whose day or
 * WeCom quota is full with one range of this index instead of a lookup per customer (docs/care.md §The care calendar).
 * The unique key (customer, scope, period, n) stays the planners' own.
 */
export class SendSlotPeriods1795000000072 implements MigrationInterface {
  name = 'SendSlotPeriods1795000000072';

  async up(q: QueryRunner): Promise<void> {
    await q.createIndex('send_slots', new TableIndex({ name: 'ix_send_slots_period', columnNames: ['scope', 'period', 'n'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('send_slots', 'ix_send_slots_period');
  }
}
