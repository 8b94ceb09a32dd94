import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * 群 SOP (docs/groups.md §Group SOP): plans for sets of customer groups, and one row per (plan, step, group, fire
 * time), the durable claim that makes each fire run once across instances and the record its report reads.
 */
export class GroupSop1795000000054 implements MigrationInterface {
  name = 'GroupSop1795000000054';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'group_sop_plans',
        engine: c.tableEngine,
        columns: [
          c.uuidId(),
          c.varchar('name', 100),
          c.bool('is_paused'),
          // Which groups: { owners, labelIds, namePattern, minMembers, maxMembers, chatIds }.
          c.json('target'),
          // { kind: 'recurring', weekdays } or { kind: 'relative' }.
          c.json('schedule'),
          // [{ id, day?, time, action, title, text, operation? }]
          c.json('steps'),
          c.int('window_minutes', { default: 120 }),
          // Fires before this instant are not the plan's (created or resumed then); the scan starts here.
          c.epochMs('active_since'),
          // The scan's watermark: fires up to here have been claimed or recorded as missed.
          c.epochMs('scanned_until'),
          c.varchar('created_by', 100, { isNullable: true }),
          c.epochMs('created_at'),
          c.epochMs('updated_at'),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'group_sop_fires',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.varchar('plan_id', 36),
          c.varchar('step_id', 36),
          c.varchar('chat_id', 64),
          c.epochMs('fire_at'),
          c.varchar('owner', 64, { isNullable: true }),
          // claimed | posted | reminded | done | missed | failed
          c.varchar('status', 16),
          c.varchar('instance_id', 100),
          c.epochMs('claimed_at'),
          c.epochMs('acted_at', { isNullable: true }),
          // When the step was done: the group send confirmed by its owner, or the owner's own confirmation.
          c.epochMs('done_at', { isNullable: true }),
          c.varchar('reason', 200, { isNullable: true }),
          // The owner's confirmation link of a reminder (one per owner and fire), 22 base64url characters.
          c.varchar('link_id', 22, { isNullable: true }),
          c.int('attempts', { default: 1 }),
        ],
        uniques: [{ name: 'uq_group_sop_fires_fire', columnNames: ['plan_id', 'step_id', 'chat_id', 'fire_at'] }],
        indices: [
          new TableIndex({ name: 'ix_group_sop_fires_plan', columnNames: ['plan_id', 'fire_at'] }),
          new TableIndex({ name: 'ix_group_sop_fires_chat', columnNames: ['chat_id', 'fire_at'] }),
          new TableIndex({ name: 'ix_group_sop_fires_status', columnNames: ['status', 'fire_at'] }),
          new TableIndex({ name: 'ix_group_sop_fires_link', columnNames: ['link_id'] }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('group_sop_fires');
    await q.dropTable('group_sop_plans');
  }
}
