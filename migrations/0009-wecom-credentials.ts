import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * Shared WeCom credentials (docs/reliability.md §Shared WeCom credentials): one row per access token or JS-SDK ticket,
 * so instances on one MySQL refresh it once under the row's lock instead of each calling gettoken. SQLite deployments
 * are one process and keep the credential in memory; the table exists there too so the schema is the same.
 */
export class WecomCredentials1795000000009 implements MigrationInterface {
  name = 'WecomCredentials1795000000009';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'wecom_credentials',
        engine: c.tableEngine,
        columns: [
          c.varchar('name', 191, { isPrimary: true }),
          // AES-256-GCM under DATA_KEY, AAD `wecom_credentials.value|<name>`.
          c.text('value_enc'),
          c.epochMs('refresh_at'),
          c.epochMs('updated_at'),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('wecom_credentials');
  }
}
