import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * 客户旅程 / 客户SOP (docs/journeys.md): journeys, their immutable versions, one membership per (journey, customer,
 * entry), one step run per (membership, step) as the once-per-step claim, and the signals that hook points leave for
 * the tick to match against triggers and exits.
 */
export class Journeys1795000000056 implements MigrationInterface {
  name = 'Journeys1795000000056';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'journeys',
        engine: c.tableEngine,
        columns: [
          c.uuidId(),
          c.varchar('name', 100),
          // draft | active | paused | archived
          c.varchar('status', 16),
          c.int('current_version', { default: 1 }),
          // never | after_days
          c.varchar('reentry', 16),
          c.int('reentry_days', { isNullable: true, default: null }),
          c.int('holdout_percent', { default: 0 }),
          // follow | stop
          c.varchar('transfer_policy', 8),
          c.int('conversion_days', { default: 7 }),
          c.int('priority', { default: 50 }),
          c.epochMs('activated_at', { isNullable: true }),
          c.varchar('created_by', 100, { isNullable: true }),
          c.epochMs('created_at'),
          c.epochMs('updated_at'),
        ],
        indices: [new TableIndex({ name: 'ix_journeys_status', columnNames: ['status'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'journey_versions',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.varchar('journey_id', 36),
          c.int('version'),
          // { trigger, steps, exits }: never changed once written; an edit writes the next version.
          c.json('definition', { isNullable: false }),
          c.varchar('created_by', 100, { isNullable: true }),
          c.epochMs('created_at'),
        ],
        uniques: [{ name: 'uq_journey_versions', columnNames: ['journey_id', 'version'] }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'journey_memberships',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.varchar('journey_id', 36),
          c.int('version'),
          c.varchar('external_user_id', 64),
          c.varchar('owner_userid', 64, { isNullable: true }),
          // active | completed | exited
          c.varchar('status', 16),
          c.varchar('exit_reason', 32, { isNullable: true }),
          // What put them in: the trigger kind, or `manual`.
          c.varchar('entered_by', 32),
          c.epochMs('entered_at'),
          // The step to run next (0-based); equal to the step count once all ran.
          c.int('current_step', { default: 0 }),
          // When the current step became current (a wait step's timeout counts from here).
          c.epochMs('step_since'),
          // When the tick should look at this membership next; null once it ended.
          c.epochMs('next_due_at', { isNullable: true }),
          c.bool('is_holdout'),
          // 1 for the first entry; a re-entry is the next number, so the key below admits one entry per number.
          c.int('entry_number', { default: 1 }),
          c.epochMs('ended_at', { isNullable: true }),
        ],
        uniques: [{ name: 'uq_journey_memberships_entry', columnNames: ['journey_id', 'external_user_id', 'entry_number'] }],
        indices: [
          // The tick's page: active memberships by due time.
          new TableIndex({ name: 'ix_journey_memberships_due', columnNames: ['status', 'next_due_at'] }),
          new TableIndex({ name: 'ix_journey_memberships_customer', columnNames: ['external_user_id', 'status'] }),
          new TableIndex({ name: 'ix_journey_memberships_journey', columnNames: ['journey_id', 'status'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'journey_step_runs',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          { name: 'membership_id', type: 'bigint', isNullable: false },
          c.varchar('journey_id', 36),
          c.int('step_index'),
          // message | task | tag | wait
          c.varchar('kind', 8),
          // claimed | waiting | done | skipped | failed
          c.varchar('status', 8),
          c.varchar('claimed_by', 100),
          c.epochMs('claimed_at'),
          c.int('attempts', { default: 1 }),
          { name: 'delivery_id', type: 'bigint', isNullable: true },
          c.varchar('task_id', 36, { isNullable: true }),
          c.varchar('result', 200, { isNullable: true }),
          c.epochMs('acted_at', { isNullable: true }),
          c.epochMs('done_at', { isNullable: true }),
        ],
        uniques: [{ name: 'uq_journey_step_runs_step', columnNames: ['membership_id', 'step_index'] }],
        indices: [
          new TableIndex({ name: 'ix_journey_step_runs_status', columnNames: ['status', 'claimed_at'] }),
          new TableIndex({ name: 'ix_journey_step_runs_journey', columnNames: ['journey_id', 'step_index', 'status'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'journey_signals',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          // added | tag_added | stage | first_order | survey | replied
          c.varchar('kind', 16),
          c.varchar('external_user_id', 64),
          c.varchar('userid', 64, { isNullable: true }),
          c.json('data'),
          c.epochMs('occurred_at'),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['journey_signals', 'journey_step_runs', 'journey_memberships', 'journey_versions', 'journeys']) await q.dropTable(t);
  }
}
