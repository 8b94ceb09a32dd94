import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * Counts of rows every add shares, kept as deltas on MySQL (docs/analytics.md §Counters every add shares): the add's
 * transaction appends a row here instead of updating the day's growth, tag and channel rows, whose locks it would
 * otherwise hold until its commit, one add at a time. A fold adds them up once a second. `target` names the rollup
 * (growth, growth_tags, channel_stats), the key columns not used by a target are ''. `ledger_id` is the relation
 * change (analytics_relation_events) a growth delta counts, so a night that rebuilds the day from that ledger drops
 * the deltas it already counted.
 */
export class CounterDeltas1795000000038 implements MigrationInterface {
  name = 'CounterDeltas1795000000038';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'counter_deltas',
        engine: c.tableEngine,
        columns: [
          c.serialId(),
          c.varchar('target', 16),
          c.date('day', { isNullable: false }),
          c.varchar('userid', 64, { default: "''" }),
          c.varchar('channel_id', 36, { default: "''" }),
          c.varchar('group_id', 64, { default: "''" }),
          c.varchar('tag_id', 64, { default: "''" }),
          c.varchar('col', 24),
          c.int('delta'),
          { name: 'ledger_id', type: 'bigint', isNullable: true },
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('counter_deltas');
  }
}
