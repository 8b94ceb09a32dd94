import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * Scheduling: job runs (durable claims, one per job and occasion), care and win-back rules, the delivery
 * ledger with its WeCom batches, per-customer send slots (frequency caps) and win-back enrolments.
 */
export class Scheduling1795000000003 implements MigrationInterface {
  name = 'Scheduling1795000000003';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    const table = (name: string, def: Omit<NonNullable<ConstructorParameters<typeof Table>[0]>, 'name' | 'engine'>) =>
      q.createTable(new Table({ name, engine: c.tableEngine, ...def }));

    // One row per (job, occasion): the claim that elects the instance running a fire. Kept forever (pruned only
    // long after the slot), never deleted on completion: a released claim lets a clock-skewed instance run the same
    // slot again (docs/reliability.md §Scheduler claims across instances).
    await table('job_runs', {
      columns: [
        c.uuidId(),
        c.varchar('job', 32),
        c.varchar('occasion_key', 64),
        c.varchar('trigger_kind', 16),
        c.varchar('status', 16),
        c.varchar('instance_id', 64),
        c.int('attempt', { default: 1 }),
        c.epochMs('started_at'),
        c.epochMs('finished_at', { isNullable: true }),
        c.json('counts'),
        c.text('error'),
      ],
      uniques: [{ name: 'uq_job_runs_job_occasion', columnNames: ['job', 'occasion_key'] }],
      indices: [new TableIndex({ name: 'ix_job_runs_job_started', columnNames: ['job', 'started_at'] })],
    });

    await table('care_rules', {
      columns: [
        c.uuidId(),
        // Rules seeded from config/care-rules.json carry their key, so a restart never seeds them twice.
        c.varchar('seed_key', 64, { isNullable: true }),
        c.varchar('name', 100),
        c.varchar('kind', 16),
        c.json('occasion', { isNullable: false }),
        c.text('audience'),
        c.text('template', { isNullable: false }),
        c.json('attachments'),
        c.varchar('send_time', 5),
        c.int('priority'),
        c.varchar('channel', 16),
        c.bool('enabled', { default: 1 }),
        c.epochMs('created_at'),
        c.epochMs('updated_at'),
      ],
      uniques: [
        { name: 'uq_care_rules_seed_key', columnNames: ['seed_key'] },
        { name: 'uq_care_rules_name', columnNames: ['name'] },
      ],
    });

    // The delivery ledger: one row per message to (or reminder about) a customer. The UNIQUE key, not a
    // check-then-insert, guarantees a customer never gets the same occasion's message twice.
    await table('deliveries', {
      columns: [
        c.serialId(),
        c.varchar('source', 80),
        c.varchar('external_user_id', 64),
        c.varchar('occasion', 100),
        c.varchar('kind', 16),
        c.varchar('rule_id', 36, { isNullable: true }),
        c.varchar('broadcast_id', 36, { isNullable: true }),
        c.varchar('channel', 16),
        c.int('priority'),
        c.varchar('sender_userid', 64, { isNullable: true }),
        c.text('text'),
        c.json('attachments'),
        c.date('local_date', { isNullable: false }),
        c.epochMs('not_before'),
        c.epochMs('expires_at'),
        c.varchar('status', 16),
        c.varchar('reason', 200, { isNullable: true }),
        c.varchar('batch_id', 36, { isNullable: true }),
        c.varchar('msgid', 64, { isNullable: true }),
        c.varchar('run_id', 36, { isNullable: true }),
        c.epochMs('created_at'),
        c.epochMs('updated_at'),
        c.epochMs('submitted_at', { isNullable: true }),
        c.epochMs('sent_at', { isNullable: true }),
      ],
      uniques: [{ name: 'uq_deliveries_source_customer_occasion', columnNames: ['source', 'external_user_id', 'occasion'] }],
      indices: [
        new TableIndex({ name: 'ix_deliveries_status_due', columnNames: ['status', 'not_before'] }),
        new TableIndex({ name: 'ix_deliveries_batch', columnNames: ['batch_id'] }),
        new TableIndex({ name: 'ix_deliveries_customer', columnNames: ['external_user_id', 'local_date'] }),
        new TableIndex({ name: 'ix_deliveries_rule', columnNames: ['rule_id', 'status'] }),
        new TableIndex({ name: 'ix_deliveries_broadcast', columnNames: ['broadcast_id'] }),
      ],
    });

    // One WeCom call (add_msg_template, message/send or kf/send_msg) covering a chunk of deliveries. Written as
    // `submitting` before the call so a crash after WeCom accepted it is reconciled, never re-sent blindly.
    await table('delivery_batches', {
      columns: [
        c.uuidId(),
        c.varchar('channel', 16),
        c.varchar('sender_userid', 64, { isNullable: true }),
        c.text('text'),
        c.json('attachments'),
        c.varchar('status', 16),
        c.varchar('msgid', 64, { isNullable: true }),
        c.int('recipients'),
        c.varchar('instance_id', 64),
        c.epochMs('created_at'),
        c.epochMs('submitted_at', { isNullable: true }),
        c.epochMs('next_poll_at', { isNullable: true }),
        c.epochMs('finished_at', { isNullable: true }),
        c.text('error'),
      ],
      uniques: [{ name: 'uq_delivery_batches_msgid', columnNames: ['msgid'] }],
      indices: [new TableIndex({ name: 'ix_delivery_batches_status', columnNames: ['status', 'next_poll_at'] })],
    });

    // Frequency caps as claimable slots: n runs 1..limit within (customer, scope, period). Two rules racing for a
    // customer's last slot collide on the UNIQUE key instead of both passing a count check
    // (docs/reliability.md §Quiet hours and caps).
    await table('send_slots', {
      columns: [
        c.serialId(),
        c.varchar('external_user_id', 64),
        c.varchar('scope', 16),
        c.varchar('period', 16),
        c.int('n'),
        { name: 'delivery_id', type: 'bigint', isNullable: false },
        c.epochMs('created_at'),
      ],
      uniques: [{ name: 'uq_send_slots', columnNames: ['external_user_id', 'scope', 'period', 'n'] }],
      indices: [new TableIndex({ name: 'ix_send_slots_delivery', columnNames: ['delivery_id'] })],
    });

    // Win-back: one enrolment per (rule, customer, dormancy cycle); the cycle is the date the silence began, so a
    // customer who comes back and goes quiet again is enrolled anew, but never twice for the same silence.
    await table('campaign_enrolments', {
      columns: [
        c.serialId(),
        c.varchar('rule_id', 36),
        c.varchar('external_user_id', 64),
        c.date('cycle', { isNullable: false }),
        c.date('enrolled_date', { isNullable: false }),
        c.epochMs('enrolled_at'),
        c.varchar('status', 16),
        c.int('last_step', { default: -1 }),
        c.int('messaged'),
        c.epochMs('exited_at', { isNullable: true }),
      ],
      uniques: [{ name: 'uq_campaign_enrolments', columnNames: ['rule_id', 'external_user_id', 'cycle'] }],
      indices: [new TableIndex({ name: 'ix_campaign_enrolments_rule', columnNames: ['rule_id', 'status'] })],
    });

    // The daily care scan looks customers up by birthday month/day and by the day they were added (anniversaries,
    // follow-ups); without these it reads the whole archive once per rule.
    await q.createIndex('customers', new TableIndex({ name: 'ix_customers_birthday_md', columnNames: ['birthday_month', 'birthday_day'] }));
    await q.createIndex('customers', new TableIndex({ name: 'ix_customers_first_added', columnNames: ['first_added_at'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('customers', 'ix_customers_first_added');
    await q.dropIndex('customers', 'ix_customers_birthday_md');
    for (const t of ['campaign_enrolments', 'send_slots', 'delivery_batches', 'deliveries', 'care_rules', 'job_runs']) {
      await q.dropTable(t);
    }
  }
}
