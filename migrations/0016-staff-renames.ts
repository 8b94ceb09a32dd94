import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * Member accounts changed in WeCom (NewUserID, docs/wecom-protocol.md §Member events): old userid → new userid and
 * when. A sidebar session signed for the old userid before the change is refused (the member signs in again and gets
 * the new one), and the operator can see what an old userid became.
 */
export class StaffRenames1795000000016 implements MigrationInterface {
  name = 'StaffRenames1795000000016';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'staff_renames',
        engine: c.tableEngine,
        columns: [c.varchar('old_userid', 64, { isPrimary: true }), c.varchar('new_userid', 64), c.epochMs('renamed_at')],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('staff_renames');
  }
}
