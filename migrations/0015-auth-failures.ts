import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * Failed API authentications per client address and 10-minute window, shared by every instance, so a client
 * guessing tokens is refused with 429 by all of them alike (docs/reliability.md §Access control,
 * docs/reliability.md §Reliability tests, test 20).
 */
export class AuthFailures1795000000015 implements MigrationInterface {
  name = 'AuthFailures1795000000015';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'auth_failures',
        engine: c.tableEngine,
        columns: [c.varchar('subject', 100, { isPrimary: true }), { name: 'bucket', type: 'bigint', isPrimary: true }, c.int('failures'), c.epochMs('created_at')],
        indices: [new TableIndex({ name: 'ix_auth_failures_created', columnNames: ['created_at'] })],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('auth_failures');
  }
}
