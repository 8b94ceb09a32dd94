import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * When a member left (docs/churn.md §Signals: a resigned owner warns once the handover is overdue). Members who left
 * before this column existed get the moment their access was revoked, which the same `delete_user` wrote.
 */
export class StaffResignedAt1795000000055 implements MigrationInterface {
  name = 'StaffResignedAt1795000000055';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.addColumn('staff', new TableColumn(c.epochMs('resigned_at', { isNullable: true })));
    await q.query("UPDATE staff SET resigned_at = COALESCE(access_revoked_at, updated_at) WHERE status = 'resigned'");
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('staff', 'resigned_at');
  }
}
