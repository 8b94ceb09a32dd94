import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * Customer searches per principal (API token, sidebar session, ADMIN_TOKEN) and window (minute, day), shared by
 * every instance, so guessing a masked phone's hidden digits one search at a time is refused alike everywhere
 * (docs/security.md §Phone search).
 */
export class SearchBudget1795000000017 implements MigrationInterface {
  name = 'SearchBudget1795000000017';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'search_budget',
        engine: c.tableEngine,
        columns: [c.varchar('subject', 120, { isPrimary: true }), { name: 'bucket', type: 'bigint', isPrimary: true }, c.int('searches'), c.epochMs('created_at')],
        indices: [new TableIndex({ name: 'ix_search_budget_created', columnNames: ['created_at'] })],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('search_budget');
  }
}
