import { TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/** `risk:high` and its siblings read one range of the level (docs/churn.md §Audiences). */
export class ChurnRiskLevel1795000000048 implements MigrationInterface {
  name = 'ChurnRiskLevel1795000000048';

  async up(q: QueryRunner): Promise<void> {
    await q.createIndex('churn_risk', new TableIndex({ name: 'ix_churn_risk_level', columnNames: ['level', 'external_user_id'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('churn_risk', 'ix_churn_risk_level');
  }
}
