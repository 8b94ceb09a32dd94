import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * 群活码 and 入群欢迎语 (docs/groups.md §Group QR codes, §Group welcome templates): the codes with their WeCom config ids,
 * which joins each code brought (one row per member and group, so a replayed or re-read event counts nothing twice), the
 * codes' counts per local day and group, and the welcome templates.
 */
export class GroupAcquisition1795000000051 implements MigrationInterface {
  name = 'GroupAcquisition1795000000051';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'group_codes',
        engine: c.tableEngine,
        columns: [
          c.uuidId(),
          c.varchar('name', 100),
          // The join way's state: ≤ 30 characters (docs/wecom-protocol.md §Group join ways); what attributes a join.
          c.varchar('state', 30),
          c.varchar('config_id', 64, { isNullable: true }),
          c.varchar('qr_code', 512, { isNullable: true }),
          // JSON array of the groups the code fills, in order, including rooms WeCom opened.
          c.json('chat_ids'),
          c.bool('auto_create_room', { default: 1 }),
          c.varchar('room_base_name', 40, { default: "''" }),
          c.int('room_base_id', { default: 1 }),
          // pending (being created in WeCom), active, failed (parked: WeCom did not take it; the operator retries),
          // deleted.
          c.varchar('status', 16),
          c.varchar('last_error', 500, { isNullable: true }),
          c.epochMs('chats_synced_at', { isNullable: true }),
          c.epochMs('created_at'),
          c.epochMs('updated_at'),
        ],
        uniques: [{ name: 'uq_group_codes_state', columnNames: ['state'] }],
        indices: [new TableIndex({ name: 'ix_group_codes_status', columnNames: ['status', 'created_at'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'group_code_joins',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.varchar('code_id', 36),
          c.varchar('chat_id', 64),
          // The customer's external_userid (or a member's userid) as groupchat/get lists them.
          c.varchar('member_id', 64),
          c.epochMs('joined_at'),
          c.epochMs('left_at', { isNullable: true }),
          c.epochMs('created_at'),
          c.epochMs('updated_at'),
        ],
        uniques: [{ name: 'uq_group_code_joins', columnNames: ['code_id', 'chat_id', 'member_id'] }],
        indices: [new TableIndex({ name: 'ix_group_code_joins_chat', columnNames: ['chat_id', 'left_at'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'group_code_daily',
        engine: c.tableEngine,
        columns: [c.varchar('code_id', 36, { isPrimary: true }), c.date('day', { isNullable: false, isPrimary: true }), c.varchar('chat_id', 64, { isPrimary: true }), c.int('joins'), c.int('leaves')],
      }),
    );
    await q.createTable(
      new Table({
        name: 'group_welcome_templates',
        engine: c.tableEngine,
        columns: [
          c.uuidId(),
          c.varchar('name', 50),
          c.varchar('template_id', 64, { isNullable: true }),
          c.text('text'),
          // JSON: at most one image, link, miniprogram, file and video (docs/wecom-protocol.md §Group welcome templates).
          c.json('attachments'),
          c.bool('notify', { default: 1 }),
          // pending, active, failed (parked), as group_codes.
          c.varchar('status', 16),
          c.varchar('last_error', 500, { isNullable: true }),
          c.epochMs('created_at'),
          c.epochMs('updated_at'),
        ],
        indices: [new TableIndex({ name: 'ix_group_welcome_templates_created', columnNames: ['created_at'] })],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('group_welcome_templates');
    await q.dropTable('group_code_daily');
    await q.dropTable('group_code_joins');
    await q.dropTable('group_codes');
  }
}
