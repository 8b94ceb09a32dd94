import { Table, TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * The group archive (docs/groups.md §Archive): a group's notice, admins, status and counts; membership as history, one
 * row per spell (a re-join opens a new one); and local group labels, since WeCom has no group-tag API.
 * `group_chat_members` (current members only) is folded into `group_memberships` as open spells.
 */
export class GroupArchive1795000000049 implements MigrationInterface {
  name = 'GroupArchive1795000000049';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.addColumns('group_chats', [
      new TableColumn(c.text('notice')),
      // groupchat/list's status: 0 normal, 1 owner resigned, 2 being inherited, 3 inherited (docs/wecom-protocol.md §Customer groups).
      new TableColumn(c.int('status')),
      // JSON array of the admins' userids from groupchat/get.
      new TableColumn(c.json('admin_list')),
      // Current members (open spells), and of them external contacts (type 2), kept with every change so filters
      // by member count read one row per group.
      new TableColumn(c.int('member_count')),
      new TableColumn(c.int('external_count')),
      new TableColumn(c.epochMs('synced_at', { isNullable: true })),
      // The full-sync run that last listed the group; a finished run that did not list it means WeCom forgot it.
      new TableColumn(c.varchar('last_seen_sync', 36, { isNullable: true })),
      new TableColumn(c.epochMs('created_at', { default: 0 })),
    ]);
    await q.createIndex('group_chats', new TableIndex({ name: 'ix_group_chats_owner', columnNames: ['owner', 'dismissed_at'] }));
    await q.createIndex('group_chats', new TableIndex({ name: 'ix_group_chats_members', columnNames: ['member_count'] }));

    await q.createTable(
      new Table({
        name: 'group_memberships',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.varchar('chat_id', 64),
          // A staff userid (type 1) or a customer's external_userid (type 2): customers link to the archive on it.
          c.varchar('member_id', 64),
          c.int('type'),
          c.varchar('unionid', 64, { isNullable: true }),
          c.epochMs('join_time', { isNullable: true }),
          // 1 direct invite, 2 invite link, 3 group QR code (docs/wecom-protocol.md §Customer groups).
          c.int('join_scene', { isNullable: true, default: null }),
          c.varchar('invitor', 64, { isNullable: true }),
          // The join way's state when the member came through a 群活码 that carried one.
          c.varchar('state', 64, { isNullable: true }),
          c.varchar('group_nickname', 100, { default: "''" }),
          c.varchar('name', 100, { default: "''" }),
          c.epochMs('left_at', { isNullable: true }),
          // 0 left by themselves, 1 removed; null when the bot only saw them missing from a snapshot.
          c.int('quit_scene', { isNullable: true, default: null }),
          // 1 while the spell is open, NULL once closed: the unique key then allows one open spell per member and
          // group and any number of closed ones (NULLs never collide on SQLite or MySQL).
          c.int('current_mark', { isNullable: true, default: null }),
          c.epochMs('created_at'),
          c.epochMs('updated_at'),
        ],
        uniques: [{ name: 'uq_group_memberships_current', columnNames: ['chat_id', 'current_mark', 'member_id'] }],
        indices: [
          new TableIndex({ name: 'ix_group_memberships_member', columnNames: ['member_id', 'current_mark'] }),
          new TableIndex({ name: 'ix_group_memberships_state', columnNames: ['state', 'join_time'] }),
          new TableIndex({ name: 'ix_group_memberships_left', columnNames: ['chat_id', 'left_at'] }),
        ],
      }),
    );
    await q.query(
      `INSERT INTO group_memberships (chat_id, member_id, type, join_time, current_mark, created_at, updated_at)
       SELECT chat_id, member_id, type, joined_at, 1, COALESCE(joined_at, 0), COALESCE(joined_at, 0) FROM group_chat_members`,
    );
    await q.query(
      `UPDATE group_chats SET
         member_count = (SELECT COUNT(*) FROM group_memberships m WHERE m.chat_id = group_chats.chat_id AND m.current_mark = 1),
         external_count = (SELECT COUNT(*) FROM group_memberships m WHERE m.chat_id = group_chats.chat_id AND m.current_mark = 1 AND m.type = 2)`,
    );
    await q.dropTable('group_chat_members');

    await q.createTable(
      new Table({
        name: 'group_labels',
        engine: c.tableEngine,
        columns: [c.uuidId(), c.varchar('name', 50), c.varchar('color', 16, { default: "''" }), c.epochMs('created_at'), c.epochMs('updated_at')],
        uniques: [{ name: 'uq_group_labels_name', columnNames: ['name'] }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'group_chat_labels',
        engine: c.tableEngine,
        columns: [c.varchar('chat_id', 64, { isPrimary: true }), c.varchar('label_id', 36, { isPrimary: true }), c.epochMs('created_at')],
        indices: [new TableIndex({ name: 'ix_group_chat_labels_label', columnNames: ['label_id', 'chat_id'] })],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.dropTable('group_chat_labels');
    await q.dropTable('group_labels');
    await q.createTable(
      new Table({
        name: 'group_chat_members',
        engine: c.tableEngine,
        columns: [c.serialId(), c.varchar('chat_id', 64), c.varchar('member_id', 64), c.int('type'), c.epochMs('joined_at', { isNullable: true })],
        uniques: [{ name: 'uq_group_chat_members', columnNames: ['chat_id', 'member_id'] }],
        indices: [new TableIndex({ name: 'ix_group_chat_members_member', columnNames: ['member_id'] })],
      }),
    );
    await q.query('INSERT INTO group_chat_members (chat_id, member_id, type, joined_at) SELECT chat_id, member_id, type, join_time FROM group_memberships WHERE current_mark = 1');
    await q.dropTable('group_memberships');
    await q.dropIndex('group_chats', 'ix_group_chats_members');
    await q.dropIndex('group_chats', 'ix_group_chats_owner');
    for (const col of ['created_at', 'last_seen_sync', 'synced_at', 'external_count', 'member_count', 'admin_list', 'status', 'notice']) await q.dropColumn('group_chats', col);
  }
}
