import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * 流失预警's warnings (docs/churn.md §Warnings): since when a customer is 高风险 (a warning goes out once per crossing),
 * and where a note came from, so the warning tasks the bot writes are not counted as staff's own interactions.
 */
export class ChurnWarnings1795000000046 implements MigrationInterface {
  name = 'ChurnWarnings1795000000046';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.addColumn('churn_risk', new TableColumn(c.epochMs('high_since', { isNullable: true })));
    // staff | churn
    await q.addColumn('notes', new TableColumn(c.varchar('source', 16, { default: "'staff'" })));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('notes', 'source');
    await q.dropColumn('churn_risk', 'high_since');
  }
}
