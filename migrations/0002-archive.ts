import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * The customer archive: staff, customers, follow relations, the tag library and customer tags,
 * notes, orders, channel codes and their stats, keyword rules, KF cursors, customer groups and sync runs.
 */
export class Archive1795000000002 implements MigrationInterface {
  name = 'Archive1795000000002';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    const table = (name: string, def: Omit<NonNullable<ConstructorParameters<typeof Table>[0]>, 'name' | 'engine'>) =>
      q.createTable(new Table({ name, engine: c.tableEngine, ...def }));

    await table('staff', {
      columns: [
        c.varchar('userid', 64, { isPrimary: true }),
        c.varchar('name', 100, { default: "''" }),
        c.varchar('status', 16, { default: "'active'" }),
        c.epochMs('updated_at'),
      ],
    });

    await table('customers', {
      columns: [
        c.varchar('external_user_id', 64, { isPrimary: true }),
        c.varchar('name', 100, { default: "''" }),
        c.varchar('avatar', 500, { isNullable: true }),
        c.int('type'),
        c.int('gender'),
        c.varchar('unionid', 64, { isNullable: true }),
        c.varchar('corp_name', 100, { isNullable: true }),
        c.varchar('corp_full_name', 200, { isNullable: true }),
        c.varchar('position', 100, { isNullable: true }),
        // AES-256-GCM under DATA_KEY with AAD `customers.phone|<external_user_id>`
        // (docs/reliability.md §Personal data at rest).
        c.text('phone_enc'),
        c.varchar('phone_index', 32, { isNullable: true }),
        c.varchar('region', 64, { isNullable: true }),
        c.varchar('birthday_calendar', 8, { isNullable: true }),
        c.int('birthday_month', { isNullable: true, default: null }),
        c.int('birthday_day', { isNullable: true, default: null }),
        c.int('birthday_year', { isNullable: true, default: null }),
        c.bool('birthday_leap'),
        c.varchar('channel_id', 36, { isNullable: true }),
        c.epochMs('first_added_at', { isNullable: true }),
        c.epochMs('last_interaction_at', { isNullable: true }),
        c.varchar('activity', 16, { default: "'active'" }),
        c.varchar('stage', 32, { isNullable: true }),
        c.varchar('rfm', 32, { isNullable: true }),
        c.text('note'),
        c.bool('opted_out'),
        c.epochMs('profile_synced_at', { isNullable: true }),
        c.epochMs('created_at'),
        c.epochMs('updated_at'),
      ],
      indices: [
        new TableIndex({ name: 'ix_customers_phone_index', columnNames: ['phone_index'] }),
        new TableIndex({ name: 'ix_customers_channel', columnNames: ['channel_id'] }),
        new TableIndex({ name: 'ix_customers_activity', columnNames: ['activity'] }),
        new TableIndex({ name: 'ix_customers_name', columnNames: ['name'] }),
      ],
    });

    await table('follow_relations', {
      columns: [
        c.serialId(),
        c.varchar('userid', 64),
        c.varchar('external_user_id', 64),
        c.varchar('remark', 100, { default: "''" }),
        c.varchar('description', 300, { default: "''" }),
        // Encrypted JSON array, AAD `follow_relations.remark_mobiles|<userid>|<external_user_id>`.
        c.text('remark_mobiles_enc'),
        c.int('add_way'),
        c.varchar('state', 64, { isNullable: true }),
        c.varchar('oper_userid', 64, { isNullable: true }),
        c.epochMs('added_at', { isNullable: true }),
        c.varchar('status', 24, { default: "'active'" }),
        c.epochMs('status_changed_at', { isNullable: true }),
        // Newest WeCom CreateTime applied: an older event must not overwrite newer state (reliability: ordering).
        c.epochMs('last_event_time', { isNullable: true }),
        // The full-sync run that last saw this relation in WeCom; relations a finished run did not see vanished.
        c.varchar('last_seen_sync', 36, { isNullable: true }),
        c.epochMs('created_at'),
        c.epochMs('updated_at'),
      ],
      uniques: [{ name: 'uq_follow_relations_pair', columnNames: ['userid', 'external_user_id'] }],
      indices: [
        new TableIndex({ name: 'ix_follow_relations_customer', columnNames: ['external_user_id', 'status'] }),
        new TableIndex({ name: 'ix_follow_relations_state', columnNames: ['state'] }),
      ],
    });

    await table('tag_groups', {
      columns: [
        c.varchar('id', 64, { isPrimary: true }),
        c.varchar('name', 100),
        c.int('sort_order'),
        c.varchar('source', 16, { default: "'wecom'" }),
        c.epochMs('deleted_at', { isNullable: true }),
        c.epochMs('updated_at'),
      ],
      indices: [new TableIndex({ name: 'ix_tag_groups_name', columnNames: ['name'] })],
    });

    await table('tags', {
      columns: [
        c.varchar('id', 64, { isPrimary: true }),
        c.varchar('group_id', 64),
        c.varchar('name', 100),
        c.int('sort_order'),
        c.varchar('source', 16, { default: "'wecom'" }),
        c.epochMs('deleted_at', { isNullable: true }),
        c.epochMs('updated_at'),
      ],
      indices: [
        new TableIndex({ name: 'ix_tags_group', columnNames: ['group_id'] }),
        new TableIndex({ name: 'ix_tags_name', columnNames: ['name'] }),
      ],
    });

    await table('customer_tags', {
      columns: [
        c.serialId(),
        c.varchar('external_user_id', 64),
        c.varchar('tag_id', 64),
        // WeCom tags are per (staff, customer) relation (docs/wecom-protocol.md §Tagging a customer); '' =
        // customer-level local record.
        c.varchar('userid', 64, { default: "''" }),
        c.varchar('source', 16),
        c.varchar('rule_id', 64, { isNullable: true }),
        c.epochMs('created_at'),
      ],
      uniques: [{ name: 'uq_customer_tags', columnNames: ['external_user_id', 'tag_id', 'userid', 'source'] }],
      indices: [
        new TableIndex({ name: 'ix_customer_tags_tag', columnNames: ['tag_id'] }),
        new TableIndex({ name: 'ix_customer_tags_rule', columnNames: ['rule_id'] }),
      ],
    });

    await table('notes', {
      columns: [
        c.uuidId(),
        c.varchar('external_user_id', 64),
        c.varchar('userid', 64, { isNullable: true }),
        c.text('text', { isNullable: false }),
        c.date('due_date'),
        c.epochMs('done_at', { isNullable: true }),
        c.epochMs('created_at'),
      ],
      indices: [
        new TableIndex({ name: 'ix_notes_customer', columnNames: ['external_user_id'] }),
        new TableIndex({ name: 'ix_notes_due', columnNames: ['due_date'] }),
      ],
    });

    await table('orders', {
      columns: [
        c.uuidId(),
        c.varchar('external_user_id', 64),
        c.varchar('order_no', 64),
        { name: 'amount_cents', type: 'bigint', isNullable: false, default: 0 },
        c.epochMs('ordered_at'),
        c.epochMs('created_at'),
      ],
      uniques: [{ name: 'uq_orders_order_no', columnNames: ['order_no'] }],
      indices: [new TableIndex({ name: 'ix_orders_customer', columnNames: ['external_user_id'] })],
    });

    await table('channels', {
      columns: [
        c.uuidId(),
        c.varchar('name', 100),
        // ≤ 30 chars: WeCom's limit on a contact way's state (docs/wecom-protocol.md §Contact ways).
        c.varchar('state', 30),
        c.varchar('config_id', 64, { isNullable: true }),
        c.varchar('qr_code', 500, { isNullable: true }),
        c.json('staff'),
        c.json('tags'),
        c.json('welcome'),
        c.epochMs('created_at'),
        c.epochMs('updated_at'),
      ],
      uniques: [{ name: 'uq_channels_state', columnNames: ['state'] }],
    });

    await table('channel_stats', {
      columns: [c.serialId(), c.varchar('channel_id', 36), c.date('day', { isNullable: false }), c.int('adds'), c.int('deletes')],
      uniques: [{ name: 'uq_channel_stats_day', columnNames: ['channel_id', 'day'] }],
    });

    await table('tag_rules', {
      columns: [
        c.uuidId(),
        c.varchar('name', 100),
        c.varchar('kind', 16),
        c.varchar('pattern', 500),
        c.varchar('match_type', 16, { default: "'substring'" }),
        c.json('tags'),
        c.bool('enabled', { default: 1 }),
        c.epochMs('created_at'),
        c.epochMs('updated_at'),
      ],
      uniques: [{ name: 'uq_tag_rules_name', columnNames: ['name'] }],
    });

    await table('kf_cursors', {
      columns: [c.varchar('open_kfid', 64, { isPrimary: true }), c.varchar('cursor', 128, { default: "''" }), c.epochMs('updated_at')],
    });

    await table('group_chats', {
      columns: [
        c.varchar('chat_id', 64, { isPrimary: true }),
        c.varchar('name', 200, { default: "''" }),
        c.varchar('owner', 64, { isNullable: true }),
        c.epochMs('chat_created_at', { isNullable: true }),
        c.epochMs('dismissed_at', { isNullable: true }),
        c.epochMs('last_event_time', { isNullable: true }),
        c.epochMs('updated_at'),
      ],
    });

    await table('group_chat_members', {
      columns: [
        c.serialId(),
        c.varchar('chat_id', 64),
        c.varchar('member_id', 64),
        // 1 staff member, 2 external contact (docs/wecom-protocol.md §Customer groups).
        c.int('type'),
        c.epochMs('joined_at', { isNullable: true }),
      ],
      uniques: [{ name: 'uq_group_chat_members', columnNames: ['chat_id', 'member_id'] }],
      indices: [new TableIndex({ name: 'ix_group_chat_members_member', columnNames: ['member_id'] })],
    });

    await table('sync_runs', {
      columns: [
        c.uuidId(),
        c.epochMs('started_at'),
        c.epochMs('finished_at', { isNullable: true }),
        c.varchar('status', 16),
        // Where to resume: staff list, chunk index, batch/get_by_user cursor and counts.
        c.json('progress'),
        c.epochMs('updated_at'),
      ],
      indices: [new TableIndex({ name: 'ix_sync_runs_status', columnNames: ['status', 'started_at'] })],
    });
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'sync_runs',
      'group_chat_members',
      'group_chats',
      'kf_cursors',
      'tag_rules',
      'channel_stats',
      'channels',
      'orders',
      'notes',
      'customer_tags',
      'tags',
      'tag_groups',
      'follow_relations',
      'customers',
      'staff',
    ]) {
      await q.dropTable(t);
    }
  }
}
