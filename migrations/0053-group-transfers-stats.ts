import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * Group transfers and group statistics (docs/groups.md §Group transfers, §Group statistics).
 *
 * `group_transfers`: one row per (request, group) handed to a new owner with groupchat/transfer (离职继承) or
 * groupchat/onjob_transfer (在职继承). `requested` while its WeCom call is in flight or its outcome unknown, `retrying`
 * after a transient failure (the `transfers` job calls again at `next_attempt_at`), then `done` or `failed` (WeCom's
 * errcode and a zh-CN reason). `open_key` is the chat id while the row is open and NULL after: its unique index keeps
 * one open transfer per group on both engines, so two requests cannot both call WeCom for it.
 *
 * `group_stat_days`: 群聊数据统计 per China day and owner, as pulled nightly; `owner` '' holds the corp's row of the
 * day (statistic_group_by_day). Keyed by (day, owner), so a day pulled again replaces its row.
 */
export class GroupTransfersStats1795000000053 implements MigrationInterface {
  name = 'GroupTransfersStats1795000000053';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'group_transfers',
        engine: c.tableEngine,
        columns: [
          c.uuidId(),
          c.varchar('request_id', 36),
          // 'onjob' | 'resigned'
          c.varchar('kind', 16),
          c.varchar('chat_id', 64),
          // The owner when asked (the handover member).
          c.varchar('handover_userid', 64),
          c.varchar('new_owner', 64),
          // requested | retrying | done | failed
          c.varchar('status', 16),
          c.varchar('open_key', 64, { isNullable: true }),
          c.int('errcode', { isNullable: true, default: null }),
          c.varchar('message', 255, { isNullable: true }),
          c.int('attempts', { default: 0 }),
          c.epochMs('next_attempt_at', { isNullable: true }),
          c.varchar('requested_by', 100),
          c.epochMs('requested_at'),
          c.epochMs('finished_at', { isNullable: true }),
          c.epochMs('updated_at'),
        ],
        uniques: [{ name: 'uq_group_transfers_open_key', columnNames: ['open_key'] }],
        indices: [
          new TableIndex({ name: 'ix_group_transfers_status', columnNames: ['status', 'next_attempt_at'] }),
          new TableIndex({ name: 'ix_group_transfers_handover', columnNames: ['handover_userid', 'requested_at'] }),
          new TableIndex({ name: 'ix_group_transfers_requested', columnNames: ['requested_at'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'group_stat_days',
        engine: c.tableEngine,
        columns: [
          // YYYY-MM-DD, China's calendar day (WeCom's).
          c.varchar('day', 10, { isPrimary: true }),
          c.varchar('owner', 64, { isPrimary: true }),
          c.int('new_chat_cnt'),
          c.int('chat_total'),
          c.int('chat_has_msg'),
          c.int('new_member_cnt'),
          c.int('member_total'),
          c.int('member_has_msg'),
          c.int('msg_total'),
          c.int('migrate_trainee_chat_cnt'),
          c.epochMs('pulled_at'),
        ],
        indices: [new TableIndex({ name: 'ix_group_stat_days_owner', columnNames: ['owner', 'day'] })],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('group_stat_days');
    await q.dropTable('group_transfers');
  }
}
