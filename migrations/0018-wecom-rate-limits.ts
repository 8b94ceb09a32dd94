import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columns } from '../src/persistence/columns.js';
import { engineOfDataSource } from '../src/persistence/data-source.js';

/**
 * WeCom's per-API limits are per corp, so every instance counts against one budget (docs/rate-limits.md):
 * `wecom_rate_windows` holds, per API and aligned window (a minute, or an hour), how many calls were leased out;
 * `wecom_rate_blocks` holds the 45009 block one instance met, so all of them pause.
 */
export class WecomRateLimits1795000000018 implements MigrationInterface {
  name = 'WecomRateLimits1795000000018';

  async up(q: QueryRunner): Promise<void> {
    const c = columns(engineOfDataSource(q.connection));
    await q.createTable(
      new Table({
        name: 'wecom_rate_windows',
        engine: c.tableEngine,
        columns: [
          c.varchar('api', 64, { isPrimary: true }),
          // The window's length (the minute or the hour window) and its start, a multiple of the length (epoch ms).
          { name: 'span_ms', type: 'bigint', isPrimary: true },
          { name: 'window_start', type: 'bigint', isPrimary: true },
          c.int('granted'),
          // window_start + span_ms: rows past it limit nothing and are purged.
          c.epochMs('window_end'),
        ],
        indices: [new TableIndex({ name: 'ix_wecom_rate_windows_end', columnNames: ['window_end'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'wecom_rate_blocks',
        engine: c.tableEngine,
        columns: [c.varchar('api', 64, { isPrimary: true }), c.epochMs('blocked_until'), c.epochMs('updated_at')],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('wecom_rate_blocks');
    await q.dropTable('wecom_rate_windows');
  }
}
