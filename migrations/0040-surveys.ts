import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * 满意度调查 (docs/surveys.md): the survey definitions, the invitations (one per survey, customer and period, each
 * with the opaque id its signed link carries), the answers (one per survey, customer and period: a second answer
 * replaces the first) and each customer's latest NPS and CSAT score, which audiences read (`nps:detractor`, `csat<=2`).
 */
export class Surveys1795000000040 implements MigrationInterface {
  name = 'Surveys1795000000040';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'surveys',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.varchar('name', 100),
          // draft | active | paused | archived
          c.varchar('status', 16, { default: "'draft'" }),
          c.varchar('intro', 500, { default: "''" }),
          // [{ kind: 'nps' | 'csat' | 'text', title, required }], at most 10 (docs/surveys.md §Definitions).
          c.json('questions', { isNullable: false }),
          c.int('reward_points'),
          // once | month | quarter | half_year | year: "never twice per survey per period".
          c.varchar('period', 16, { default: "'quarter'" }),
          // manual | first_order | added | periodic | kf_session_end
          c.varchar('trigger_type', 16, { default: "'manual'" }),
          c.int('trigger_days'),
          c.varchar('audience', 4000, { isNullable: true }),
          // The invitation's text, with {{link}}, {{name}}, {{staff}}.
          c.varchar('message', 1000),
          c.int('link_ttl_days', { default: 14 }),
          c.varchar('created_by', 100),
          c.epochMs('created_at'),
          c.epochMs('updated_at'),
        ],
        indices: [new TableIndex({ name: 'ix_surveys_status', columnNames: ['status', 'trigger_type'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'survey_invites',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.int('survey_id'),
          // The customer, or `erased:<hash>` once erased.
          c.varchar('external_user_id', 64),
          // The survey's period this invitation belongs to (`2026-Q4`, `2026-12`, `once`).
          c.varchar('period', 16),
          // The opaque id the signed link carries instead of anything personal; null once erased.
          c.varchar('link_id', 32, { isNullable: true }),
          // mass_task | kf | link (a link handed out by hand)
          c.varchar('via', 16),
          // The member whose customer it was when invited (the sender): scores per staff member.
          c.varchar('staff_userid', 64, { isNullable: true }),
          c.epochMs('created_at'),
          c.epochMs('expires_at'),
          c.epochMs('opened_at', { isNullable: true }),
        ],
        indices: [
          new TableIndex({ name: 'ux_survey_invites_customer_period', columnNames: ['survey_id', 'external_user_id', 'period'], isUnique: true }),
          new TableIndex({ name: 'ux_survey_invites_link', columnNames: ['link_id'], isUnique: true }),
          new TableIndex({ name: 'ix_survey_invites_customer', columnNames: ['external_user_id'] }),
          new TableIndex({ name: 'ix_survey_invites_survey_created', columnNames: ['survey_id', 'created_at'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'survey_answers',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.int('survey_id'),
          c.int('invite_id'),
          // The customer, or `erased:<hash>` once erased (the score stays, for the totals).
          c.varchar('external_user_id', 64),
          c.varchar('period', 16),
          // The survey's headline score: its first NPS or CSAT question (null when it has none).
          c.varchar('kind', 8, { isNullable: true }),
          c.int('score', { isNullable: true, default: null }),
          // The first free-text answer.
          c.varchar('comment', 1000, { isNullable: true }),
          // Every answer, by question: [{ q, kind, value }].
          c.json('answers'),
          // What the customer was when answering, for the results per staff member, channel and segment.
          c.varchar('staff_userid', 64, { isNullable: true }),
          c.varchar('channel_id', 36, { isNullable: true }),
          c.varchar('segment', 32, { isNullable: true }),
          c.varchar('via', 16),
          // The form's one-time id: the same form posted twice is one answer (docs/surveys.md §Answering).
          c.varchar('submission', 32),
          c.int('revisions'),
          c.epochMs('first_answered_at'),
          c.epochMs('answered_at'),
        ],
        indices: [
          new TableIndex({ name: 'ux_survey_answers_customer_period', columnNames: ['survey_id', 'external_user_id', 'period'], isUnique: true }),
          new TableIndex({ name: 'ix_survey_answers_survey_answered', columnNames: ['survey_id', 'answered_at'] }),
          new TableIndex({ name: 'ix_survey_answers_customer', columnNames: ['external_user_id', 'answered_at'] }),
          new TableIndex({ name: 'ix_survey_answers_kind_answered', columnNames: ['kind', 'answered_at'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'survey_customer_scores',
        engine: c.tableEngine,
        columns: [
          c.varchar('external_user_id', 64, { isPrimary: true }),
          // The customer's latest NPS score (0–10) and CSAT score (1–5), of any survey.
          c.int('nps_score', { isNullable: true, default: null }),
          c.epochMs('nps_at', { isNullable: true }),
          c.int('csat_score', { isNullable: true, default: null }),
          c.epochMs('csat_at', { isNullable: true }),
        ],
        indices: [
          new TableIndex({ name: 'ix_survey_scores_nps', columnNames: ['nps_score', 'external_user_id'] }),
          new TableIndex({ name: 'ix_survey_scores_csat', columnNames: ['csat_score', 'external_user_id'] }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('survey_customer_scores');
    await q.dropTable('survey_answers');
    await q.dropTable('survey_invites');
    await q.dropTable('surveys');
  }
}
