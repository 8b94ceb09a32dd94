import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * Staff display names: where `staff.name` came from, so a sync may refresh names it fetched from WeCom
 * (user/get, doc path/90196) but never overwrites one an operator set by hand. NULL = never looked up.
 */
export class StaffNames1795000000005 implements MigrationInterface {
  name = 'StaffNames1795000000005';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    // 'wecom' | 'manual'; NULL for rows the bot has only seen as a userid.
    await q.addColumn('staff', new TableColumn(c.varchar('name_source', 16, { isNullable: true })));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('staff', 'name_source');
  }
}
