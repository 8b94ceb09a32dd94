import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * Analytics, activity and value mix (客户结构, docs/analytics.md §Activity and value mix):
 * - `analytics_daily_mix`: the nightly snapshot of customers per activity (ADC), RFM segment and lifecycle stage, for the
 *   corp and per member;
 * - `analytics_daily_transitions`: per night, customers whose value changed since the night before (e.g. loyal → at_risk);
 * - `analytics_customer_states`: each customer's values at the last snapshot and before it, which the next night's
 *   transitions are counted against (one row per customer; erased with the customer).
 */
export class AnalyticsMix1795000000026 implements MigrationInterface {
  name = 'AnalyticsMix1795000000026';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'analytics_daily_mix',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.date('day', { isNullable: false }),
          c.varchar('dimension', 16),
          // '' when the customer has none (an RFM segment needs orders).
          c.varchar('value', 32, { default: "''" }),
          c.varchar('userid', 64, { default: "''" }),
          c.int('customers'),
        ],
        uniques: [{ name: 'uq_analytics_mix_key', columnNames: ['day', 'dimension', 'value', 'userid'] }],
        indices: [new TableIndex({ name: 'ix_analytics_mix_dim', columnNames: ['dimension', 'userid', 'day'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'analytics_daily_transitions',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.date('day', { isNullable: false }),
          c.varchar('dimension', 16),
          c.varchar('from_value', 32, { default: "''" }),
          c.varchar('to_value', 32, { default: "''" }),
          c.varchar('userid', 64, { default: "''" }),
          c.int('customers'),
        ],
        uniques: [{ name: 'uq_analytics_transitions_key', columnNames: ['day', 'dimension', 'from_value', 'to_value', 'userid'] }],
        indices: [new TableIndex({ name: 'ix_analytics_transitions_dim', columnNames: ['dimension', 'userid', 'day'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'analytics_customer_states',
        engine: c.tableEngine,
        columns: [
          c.varchar('external_user_id', 64, { isPrimary: true }),
          c.date('as_of', { isNullable: false }),
          c.varchar('activity', 16, { default: "''" }),
          c.varchar('rfm', 32, { default: "''" }),
          c.varchar('stage', 32, { default: "''" }),
          // The values before `as_of`'s snapshot: a second snapshot of the same night counts against these.
          c.date('prev_as_of'),
          c.varchar('prev_activity', 16, { default: "''" }),
          c.varchar('prev_rfm', 32, { default: "''" }),
          c.varchar('prev_stage', 32, { default: "''" }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['analytics_customer_states', 'analytics_daily_transitions', 'analytics_daily_mix']) await q.dropTable(t, true);
  }
}
