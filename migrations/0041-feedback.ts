import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * 客户反馈处理 (docs/feedback.md): feedback tickets (one active per customer), each ticket's events (unique per
 * cause, so a survey answer or a KF message acts once) and the keyword rules that give categories and open tickets.
 */
export class Feedback1795000000041 implements MigrationInterface {
  name = 'Feedback1795000000041';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'feedback_tickets',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          // The customer, or `erased:<hash>` once erased (docs/feedback.md §Erasure).
          c.varchar('external_user_id', 64),
          // The customer while the ticket is open or contacted, null once resolved: one active ticket per customer.
          c.varchar('active_key', 64, { isNullable: true }),
          // survey | kf | staff
          c.varchar('source', 16),
          // open | contacted | resolved
          c.varchar('status', 16),
          c.varchar('category', 32, { isNullable: true }),
          c.varchar('summary', 500, { default: "''" }),
          c.int('score', { isNullable: true, default: null }),
          c.varchar('score_kind', 8, { isNullable: true }),
          c.varchar('owner_userid', 64, { isNullable: true }),
          c.epochMs('opened_at'),
          c.epochMs('reopened_at', { isNullable: true }),
          c.int('reopen_count'),
          // First contact is due by then (FEEDBACK_FIRST_CONTACT_HOURS after the last opening).
          c.epochMs('due_at'),
          c.epochMs('contacted_at', { isNullable: true }),
          c.epochMs('resolved_at', { isNullable: true }),
          c.varchar('resolution_note', 500, { isNullable: true }),
          c.epochMs('notified_at', { isNullable: true }),
          c.epochMs('escalated_at', { isNullable: true }),
          c.varchar('created_by', 100),
          c.epochMs('updated_at'),
        ],
        indices: [
          new TableIndex({ name: 'ux_feedback_tickets_active', columnNames: ['active_key'], isUnique: true }),
          new TableIndex({ name: 'ix_feedback_tickets_customer', columnNames: ['external_user_id', 'id'] }),
          new TableIndex({ name: 'ix_feedback_tickets_status_due', columnNames: ['status', 'due_at'] }),
          new TableIndex({ name: 'ix_feedback_tickets_owner', columnNames: ['owner_userid', 'status'] }),
          new TableIndex({ name: 'ix_feedback_tickets_opened', columnNames: ['opened_at'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'feedback_ticket_events',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.int('ticket_id'),
          // opened | reopened | again | contacted | resolved | escalated
          c.varchar('kind', 16),
          c.varchar('actor', 100),
          c.varchar('note', 500, { isNullable: true }),
          // The cause (`answer:<id>`, `kf:<msgid>`, `staff:<request id>`): unique, so each acts once.
          c.varchar('source_ref', 128, { isNullable: true }),
          c.epochMs('created_at'),
        ],
        indices: [
          new TableIndex({ name: 'ux_feedback_events_source_ref', columnNames: ['source_ref'], isUnique: true }),
          new TableIndex({ name: 'ix_feedback_events_ticket', columnNames: ['ticket_id', 'id'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'feedback_rules',
        engine: c.tableEngine,
        columns: [
          c.uuidId(),
          c.varchar('name', 100),
          c.varchar('pattern', 500),
          // substring | regex, as keyword tag rules
          c.varchar('match_type', 16),
          c.varchar('category', 32),
          // A complaint rule: a customer's KF message it matches opens a ticket.
          c.bool('opens_ticket'),
          c.bool('enabled', { default: 1 }),
          c.epochMs('created_at'),
          c.epochMs('updated_at'),
        ],
        indices: [new TableIndex({ name: 'ux_feedback_rules_name', columnNames: ['name'], isUnique: true })],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('feedback_rules');
    await q.dropTable('feedback_ticket_events');
    await q.dropTable('feedback_tickets');
  }
}
