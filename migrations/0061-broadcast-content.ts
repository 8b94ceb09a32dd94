import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * A broadcast may carry 素材库 items (`content_ids`, a JSON array of item ids), resolved into text and attachments when
 * the broadcast is planned, not when it is created: their WeCom media ids live 3 days (docs/content.md §Media lifecycle).
 */
export class BroadcastContent1795000000061 implements MigrationInterface {
  name = 'BroadcastContent1795000000061';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.addColumn('broadcasts', new TableColumn(c.json('content_ids')));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('broadcasts', 'content_ids');
  }
}
