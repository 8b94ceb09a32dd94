import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * A care rule may carry 素材库 items (`content_ids`, a JSON array of item ids), resolved into text and attachments
 * each time the rule is planned, not when it is saved: their WeCom media ids live 3 days (docs/content.md §Media lifecycle).
 */
export class CareRuleContent1795000000062 implements MigrationInterface {
  name = 'CareRuleContent1795000000062';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.addColumn('care_rules', new TableColumn(c.json('content_ids')));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('care_rules', 'content_ids');
  }
}
