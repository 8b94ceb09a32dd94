import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * Staff access revocation: sidebar sessions are stateless signed tokens, so "sign this member out everywhere" is a
 * time on the member's row. A session issued before `access_revoked_at` is refused. NULL = never revoked.
 */
export class StaffAccess1795000000012 implements MigrationInterface {
  name = 'StaffAccess1795000000012';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.addColumn('staff', new TableColumn(c.epochMs('access_revoked_at', { isNullable: true })));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('staff', 'access_revoked_at');
  }
}
