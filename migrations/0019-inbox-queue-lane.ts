import { TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * The inbox's ready queue (docs/inbox.md §Claims that stay flat): `queue_lane` is the claim lane (1 urgent, 0
 * ordinary) of an event that may be claimed now, the head of its subject; NULL for an event that waits behind an
 * earlier one of its subject, and for a finished one. A claim then reads only ready rows through
 * `ix_inbox_events_queue`, instead of skipping, one by one, every event that waits behind a busy subject.
 */
export class InboxQueueLane1795000000019 implements MigrationInterface {
  name = 'InboxQueueLane1795000000019';

  async up(q: QueryRunner): Promise<void> {
    const isMysql = engineOfDataSource(q.connection) === 'mysql';
    await q.addColumn('inbox_events', new TableColumn({ name: 'queue_lane', type: isMysql ? 'tinyint' : 'integer', isNullable: true }));
    // Heads of their subject (and events without one) among the unfinished events become ready.
    const heads = `SELECT MIN(id) FROM inbox_events WHERE status IN ('pending','running') AND subject_key IS NOT NULL GROUP BY subject_key`;
    if (isMysql) {
      await q.query(`UPDATE inbox_events e JOIN (${heads.replace('SELECT MIN(id)', 'SELECT MIN(id) AS id')}) h ON h.id = e.id SET e.queue_lane = e.priority`);
    } else {
      await q.query(`UPDATE inbox_events SET queue_lane = priority WHERE id IN (${heads})`);
    }
    await q.query(`UPDATE inbox_events SET queue_lane = priority WHERE subject_key IS NULL AND status IN ('pending','running')`);
    await q.createIndex('inbox_events', new TableIndex({ name: 'ix_inbox_events_queue', columnNames: ['queue_lane', 'id'] }));
    // "Is any event of this subject ready?", asked each time one finishes, without reading the subject's backlog.
    await q.createIndex('inbox_events', new TableIndex({ name: 'ix_inbox_events_subject_lane', columnNames: ['subject_key', 'queue_lane'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('inbox_events', 'ix_inbox_events_subject_lane');
    await q.dropIndex('inbox_events', 'ix_inbox_events_queue');
    await q.dropColumn('inbox_events', 'queue_lane');
  }
}
