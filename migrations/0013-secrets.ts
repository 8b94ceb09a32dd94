import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * Keys the bot keeps for itself, sealed under DATA_KEY (AAD `secrets.value|<name>`), so they survive a DATA_KEY
 * rotation: `keys rotate` re-seals them like any other value. The first is the erasure key: erased customers are
 * remembered only by a keyed hash of their id, which cannot be recomputed under a new key (the ids are gone), so
 * that key must outlive DATA_KEY.
 */
export class Secrets1795000000013 implements MigrationInterface {
  name = 'Secrets1795000000013';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'secrets',
        engine: c.tableEngine,
        columns: [c.varchar('name', 64, { isPrimary: true }), c.text('value_enc'), c.epochMs('created_at'), c.epochMs('updated_at')],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('secrets');
  }
}
