import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * Customer transfers (客户继承: 在职继承 on-job, 离职继承 resigned; docs/wecom-protocol.md §Customer transfers): one row per
 * (request, customer). A row is `requested` while its WeCom call is in flight, `waiting` once WeCom started the 24 h
 * takeover, then `done`, `refused`, `taker_limit` or `failed` (with WeCom's errcode). `open_key` is the customer's id
 * while the row is requested or waiting and NULL after: a unique index on it lets one customer have at most one open
 * transfer on both engines (MySQL and SQLite both allow any number of NULLs in a unique index), so a second request
 * cannot call WeCom twice.
 */
export class Transfers1795000000011 implements MigrationInterface {
  name = 'Transfers1795000000011';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'transfers',
        engine: c.tableEngine,
        columns: [
          c.uuidId(),
          // The POST that asked for it: one request covers many customers.
          c.varchar('request_id', 36),
          // 'onjob' | 'resigned'
          c.varchar('kind', 16),
          c.varchar('handover_userid', 64),
          c.varchar('takeover_userid', 64),
          c.varchar('external_user_id', 64),
          // requested | waiting | done | refused | taker_limit | failed
          c.varchar('status', 16),
          c.varchar('open_key', 64, { isNullable: true }),
          c.int('errcode', { isNullable: true, default: null }),
          c.varchar('message', 255, { isNullable: true }),
          // transfer_success_msg (≤ 200 characters, on-job only).
          c.varchar('success_msg', 255, { isNullable: true }),
          c.varchar('requested_by', 100),
          c.epochMs('requested_at'),
          // When WeCom will (waiting) or did (done) hand the customer over.
          c.epochMs('takeover_at', { isNullable: true }),
          c.epochMs('finished_at', { isNullable: true }),
          c.epochMs('updated_at'),
        ],
        uniques: [{ name: 'uq_transfers_open_key', columnNames: ['open_key'] }],
        indices: [
          new TableIndex({ name: 'ix_transfers_status_pair', columnNames: ['status', 'kind', 'handover_userid', 'takeover_userid'] }),
          new TableIndex({ name: 'ix_transfers_customer', columnNames: ['external_user_id', 'requested_at'] }),
          new TableIndex({ name: 'ix_transfers_requested', columnNames: ['requested_at'] }),
          // "Any transfer finished lately?": the callback handler's check before it looks a callback up.
          new TableIndex({ name: 'ix_transfers_finished', columnNames: ['finished_at'] }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('transfers');
  }
}
