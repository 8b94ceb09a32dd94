import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * Holdout (docs/analytics.md §Holdout): care and win-back rules and broadcasts hold out a share of their audience, 0–50
 * percent (0, none, for every existing one), recorded in the ledger as skipped with reason `holdout`.
 */
export class Holdout1795000000032 implements MigrationInterface {
  name = 'Holdout1795000000032';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.addColumn('care_rules', new TableColumn(c.int('holdout_percent', { default: 0 })));
    await q.addColumn('broadcasts', new TableColumn(c.int('holdout_percent', { default: 0 })));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('broadcasts', 'holdout_percent');
    await q.dropColumn('care_rules', 'holdout_percent');
  }
}
