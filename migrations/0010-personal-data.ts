import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * Personal data (PIPL art. 47, docs/reliability.md §PIPL duties): the audit trail of erasures. A row proves a deletion
 * request was honoured without keeping what was deleted: the subject is a keyed one-way hash, never the ExternalUserID.
 */
export class PersonalData1795000000010 implements MigrationInterface {
  name = 'PersonalData1795000000010';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'erasures',
        engine: c.tableEngine,
        columns: [
          c.uuidId(),
          // HMAC of the ExternalUserID under a key derived from DATA_KEY: an auditor holding the key can answer "was
          // this person erased?"; without the key the row identifies nobody.
          c.varchar('subject_hash', 64),
          c.epochMs('erased_at'),
          // `admin:<token id>`, `cli` or similar: who asked, never the customer.
          c.varchar('by_principal', 100),
          // `{ table: rowsRemovedOrStubbed }`.
          c.json('counts_per_table'),
        ],
        indices: [new TableIndex({ name: 'ix_erasures_subject', columnNames: ['subject_hash'] })],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('erasures');
  }
}
