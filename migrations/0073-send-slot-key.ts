import type { MigrationInterface, QueryRunner } from 'typeorm';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * The cap slots' unique key (customer, scope, period, n) becomes their primary key, and the surrogate `id`, which
 * nothing reads, goes: a slot is then one entry in the table's own tree instead of a row plus an entry in the unique
 * index, which a planning of 1,000,000 customers writes about 1,000,000 times (docs/audiences.md §Slots without a surrogate id).
 * On SQLite the table becomes `WITHOUT ROWID`, so the key is the table's tree as it is in InnoDB; a rowid table
 * with a composite primary key would keep a separate index for it. A slot someone else took still fails the insert
 * with a duplicate key, which is all the planners rely on.
 */
export class SendSlotKey1795000000073 implements MigrationInterface {
  name = 'SendSlotKey1795000000073';

  async up(q: QueryRunner): Promise<void> {
    if (engineOfDataSource(q.connection) === 'mysql') {
      await q.query(
        'ALTER TABLE send_slots DROP PRIMARY KEY, DROP COLUMN id, DROP INDEX uq_send_slots, ADD PRIMARY KEY (external_user_id, scope, period, n)',
      );
      return;
    }
    await rebuildSqlite(
      q,
      'CREATE TABLE "send_slots_new" ("external_user_id" varchar(64) NOT NULL, "scope" varchar(16) NOT NULL, "period" varchar(16) NOT NULL, "n" integer NOT NULL DEFAULT (0), "delivery_id" bigint NOT NULL, "created_at" bigint NOT NULL, PRIMARY KEY ("external_user_id", "scope", "period", "n")) WITHOUT ROWID',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    if (engineOfDataSource(q.connection) === 'mysql') {
      // The ids come back in the key's order; they were never read, so which id a slot had does not matter.
      await q.query(
        'ALTER TABLE send_slots DROP PRIMARY KEY, ADD COLUMN id bigint unsigned NOT NULL AUTO_INCREMENT FIRST, ADD PRIMARY KEY (id), ADD UNIQUE INDEX uq_send_slots (external_user_id, scope, period, n)',
      );
      return;
    }
    // The table as migration 0003 created it.
    await rebuildSqlite(
      q,
      'CREATE TABLE "send_slots_new" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "external_user_id" varchar(64) NOT NULL, "scope" varchar(16) NOT NULL, "period" varchar(16) NOT NULL, "n" integer NOT NULL DEFAULT (0), "delivery_id" bigint NOT NULL, "created_at" bigint NOT NULL, CONSTRAINT "uq_send_slots" UNIQUE ("external_user_id", "scope", "period", "n"))',
    );
  }
}

/** SQLite cannot change a table's primary key in place: copy the slots into the new table and put its indexes back. */
async function rebuildSqlite(q: QueryRunner, createNew: string): Promise<void> {
  await q.query(createNew);
  await q.query(
    'INSERT INTO send_slots_new (external_user_id, scope, period, n, delivery_id, created_at) SELECT external_user_id, scope, period, n, delivery_id, created_at FROM send_slots',
  );
  await q.query('DROP TABLE send_slots');
  await q.query('ALTER TABLE send_slots_new RENAME TO send_slots');
  await q.query('CREATE INDEX "ix_send_slots_delivery" ON "send_slots" ("delivery_id")');
  await q.query('CREATE INDEX "ix_send_slots_period" ON "send_slots" ("scope", "period", "n")');
}
