import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * 客户群群发 (docs/groups.md §Group broadcasts): a group broadcast, its ledger of one row per (broadcast, group), one
 * WeCom task per (broadcast, owner, part), and the groups' mass-message receipts that the per-group quota counts
 * (docs/wecom-protocol.md §Mass message quota).
 */
export class GroupBroadcasts1795000000052 implements MigrationInterface {
  name = 'GroupBroadcasts1795000000052';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    const table = (name: string, def: Omit<NonNullable<ConstructorParameters<typeof Table>[0]>, 'name' | 'engine'>) =>
      q.createTable(new Table({ name, engine: c.tableEngine, ...def }));

    await table('group_broadcasts', {
      columns: [
        c.uuidId(),
        c.varchar('name', 100),
        // Who asked for it: `console` (an operator) or `sop:<plan>` (a group SOP step); with `request_key`, a caller's
        // retry of the same request finds the broadcast it already made instead of making a second one.
        c.varchar('origin', 64),
        c.varchar('request_key', 150, { isNullable: true }),
        c.text('text'),
        c.json('attachments'),
        c.json('filter'),
        c.varchar('status', 16),
        c.int('groups_count'),
        c.int('members_count'),
        c.int('owners_count'),
        c.varchar('created_by', 100, { isNullable: true }),
        c.epochMs('send_at'),
        c.epochMs('created_at'),
        c.epochMs('updated_at'),
        c.epochMs('finished_at', { isNullable: true }),
      ],
      uniques: [{ name: 'uq_group_broadcasts_request', columnNames: ['origin', 'request_key'] }],
      indices: [new TableIndex({ name: 'ix_group_broadcasts_created', columnNames: ['created_at'] })],
    });

    // One WeCom add_msg_template per (broadcast, owner, part of ≤ 2000 groups). Written `planned`, moved to
    // `submitting` before the call and `submitted` with the msgid after it: a task left `submitting` is looked up in
    // get_groupmsg_list_v2 before anything is sent again (docs/groups.md §Crash safety).
    await table('group_broadcast_tasks', {
      columns: [
        c.uuidId(),
        c.varchar('broadcast_id', 36),
        c.varchar('owner', 64),
        c.int('part'),
        c.varchar('status', 16),
        c.varchar('msgid', 64, { isNullable: true }),
        c.int('groups_count'),
        c.int('attempts'),
        // 0 the owner has not sent it yet, 1 sent from 群发助手 (get_groupmsg_task).
        c.int('owner_status'),
        c.epochMs('owner_sent_at', { isNullable: true }),
        c.epochMs('not_before'),
        c.epochMs('started_at', { isNullable: true }),
        c.epochMs('submitted_at', { isNullable: true }),
        c.epochMs('next_poll_at', { isNullable: true }),
        c.epochMs('finished_at', { isNullable: true }),
        c.varchar('error', 400, { isNullable: true }),
        c.varchar('instance_id', 64, { isNullable: true }),
      ],
      uniques: [
        { name: 'uq_group_broadcast_tasks_owner', columnNames: ['broadcast_id', 'owner', 'part'] },
        { name: 'uq_group_broadcast_tasks_msgid', columnNames: ['msgid'] },
      ],
      indices: [new TableIndex({ name: 'ix_group_broadcast_tasks_status', columnNames: ['status', 'not_before'] })],
    });

    // The ledger: one row per (broadcast, group), never two (the UNIQUE key, not a check-then-insert).
    await table('group_broadcast_targets', {
      columns: [
        c.serialId(),
        c.varchar('broadcast_id', 36),
        c.varchar('chat_id', 64),
        c.varchar('task_id', 36),
        c.varchar('owner', 64),
        c.varchar('chat_name', 200, { default: "''" }),
        c.int('members'),
        c.varchar('status', 16),
        c.varchar('reason', 200, { isNullable: true }),
        c.epochMs('sent_at', { isNullable: true }),
        c.epochMs('updated_at'),
      ],
      uniques: [{ name: 'uq_group_broadcast_targets', columnNames: ['broadcast_id', 'chat_id'] }],
      indices: [
        new TableIndex({ name: 'ix_group_broadcast_targets_task', columnNames: ['task_id', 'status'] }),
        new TableIndex({ name: 'ix_group_broadcast_targets_chat', columnNames: ['chat_id', 'status'] }),
      ],
    });

    // Mass messages each group received, enterprise- and member-created alike, as get_groupmsg_list_v2 and
    // get_groupmsg_send_result report them: what the group's quota has used (docs/wecom-protocol.md §Mass message quota).
    await table('group_msg_receipts', {
      columns: [
        c.serialId(),
        c.varchar('chat_id', 64),
        c.varchar('msgid', 64),
        // 0 enterprise-created (the API), 1 created by a member in the client.
        c.int('create_type'),
        c.varchar('sender', 64, { isNullable: true }),
        c.epochMs('sent_at'),
      ],
      uniques: [{ name: 'uq_group_msg_receipts', columnNames: ['chat_id', 'msgid'] }],
      indices: [new TableIndex({ name: 'ix_group_msg_receipts_chat_sent', columnNames: ['chat_id', 'sent_at'] })],
    });
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['group_msg_receipts', 'group_broadcast_targets', 'group_broadcast_tasks', 'group_broadcasts']) await q.dropTable(t);
  }
}
