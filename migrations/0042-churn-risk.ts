import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * 流失预警 (docs/churn.md): each customer's churn-risk score from the nightly `churn` job, with the reasons that make it
 * up, so the archive can explain it; the score index serves "who is at risk" lists and audiences.
 */
export class ChurnRisk1795000000042 implements MigrationInterface {
  name = 'ChurnRisk1795000000042';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'churn_risk',
        engine: c.tableEngine,
        columns: [
          c.varchar('external_user_id', 64, { isPrimary: true }),
          // 0–100.
          c.int('score'),
          // low | medium | high
          c.varchar('level', 8),
          // JSON array of { code, points, text }, largest first (docs/churn.md §Signals).
          c.json('reasons'),
          c.epochMs('scored_at'),
        ],
        indices: [new TableIndex({ name: 'ix_churn_risk_score', columnNames: ['score'] })],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('churn_risk');
  }
}
