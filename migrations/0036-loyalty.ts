import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * 积分与会员 (docs/loyalty.md): the points ledger (append-only, one entry per reference and customer), each customer's
 * account (the balance kept in the ledger's transactions, the tier, the opaque id of the "我的积分" link) and the
 * configured tiers, which audiences read by name (`tier:金卡`).
 */
export class Loyalty1795000000036 implements MigrationInterface {
  name = 'Loyalty1795000000036';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'loyalty_points',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          // The customer, or `erased:<hash>` once erased (docs/loyalty.md §Erasure).
          c.varchar('external_user_id', 64),
          // earn | adjust | redeem | expire
          c.varchar('kind', 16),
          // order | survey | birthday | manual | redemption | expiry …: what the customer's page says in words.
          c.varchar('reason', 32),
          // What the entry is for (`order:<no>`, `redeem:<key>`, `expire:<date>`): one entry per reference and customer.
          c.varchar('reference', 128),
          c.int('points'),
          c.epochMs('created_at'),
          // When the points of a positive entry expire (end of a year, local time); null: never.
          c.epochMs('expires_at', { isNullable: true }),
          // Who recorded it (a member's userid, `system`).
          c.varchar('actor', 100),
          c.varchar('note', 200, { isNullable: true }),
        ],
        indices: [
          new TableIndex({ name: 'ux_loyalty_points_reference', columnNames: ['external_user_id', 'reference'], isUnique: true }),
          new TableIndex({ name: 'ix_loyalty_points_customer', columnNames: ['external_user_id', 'id'] }),
          new TableIndex({ name: 'ix_loyalty_points_expires', columnNames: ['expires_at', 'external_user_id'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'loyalty_accounts',
        engine: c.tableEngine,
        columns: [
          c.varchar('external_user_id', 64, { isPrimary: true }),
          // The sum of the customer's ledger, written in the same transaction as each entry.
          c.int('balance'),
          // 0 is the lowest tier (loyalty_tiers.tier_rank).
          c.int('tier_rank'),
          c.epochMs('tier_since', { isNullable: true }),
          // Counts tier changes: the congratulation's ledger occasion, so each change is messaged once.
          c.int('tier_version'),
          // Since when the customer has been below their tier's threshold (the downgrade grace), or null.
          c.epochMs('below_since', { isNullable: true }),
          // The opaque id the signed link carries instead of the external_userid.
          c.varchar('link_id', 32, { isNullable: true }),
          c.epochMs('created_at'),
          c.epochMs('updated_at'),
        ],
        indices: [
          new TableIndex({ name: 'ux_loyalty_accounts_link', columnNames: ['link_id'], isUnique: true }),
          new TableIndex({ name: 'ix_loyalty_accounts_balance', columnNames: ['balance', 'external_user_id'] }),
          new TableIndex({ name: 'ix_loyalty_accounts_tier', columnNames: ['tier_rank', 'external_user_id'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'loyalty_tiers',
        engine: c.tableEngine,
        columns: [c.int('tier_rank', { isPrimary: true }), c.varchar('name', 32), c.int('threshold'), c.varchar('benefits', 500, { default: "''" })],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('loyalty_tiers');
    await q.dropTable('loyalty_accounts');
    await q.dropTable('loyalty_points');
  }
}
