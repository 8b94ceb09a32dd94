import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { spawnServer, type ChildServer } from '../helpers/child-server.js';
import { TEST_DATA_KEY, waitFor } from '../helpers/app.js';
import { createDataSource } from '../../src/persistence/data-source.js';

// Real processes (tsx start-up, migrations) take seconds each; on a loaded 2-core CI machine 30 s is too tight.
vi.setConfig({ testTimeout: 120_000 });

function hasFaketime(): boolean {
  try {
    execFileSync('faketime', ['-f', '+0', 'true']);
    return true;
  } catch {
    return false;
  }
}

const canRun = !!process.env.TEST_MYSQL_URL && hasFaketime();
if (!canRun) process.stderr.write('[wecom-ops tests] scheduler multi-process test needs TEST_MYSQL_URL and faketime (apt-get install faketime): skipped.\n');

/**
 * Two real `serve` processes on one MySQL whose clocks (libfaketime) start at 08:59:35 Asia/Shanghai on the same
 * day, half a second apart (25 s ahead of the fire, so a slow start on a loaded machine is still before 09:00): node-cron fires the 09:00 care slot in both, and the durable job_runs claim lets exactly
 * one of them run it (docs/reliability.md §Scheduler claims across instances).
 */
describe.runIf(canRun)('the 09:00 care fire across two server processes on one MySQL', () => {
  let db: TestDatabase;
  const servers: ChildServer[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('mysql');
  });
  afterAll(async () => {
    for (const s of servers) await s.kill('SIGTERM');
    await db.drop();
  });

  it('runs exactly once', async () => {
    const env = { DATABASE_URL: db.url, DATA_KEY: TEST_DATA_KEY, SANDBOX: 'false', PROBE_LOG: '/dev/null', TZ: 'UTC', APP_TIMEZONE: 'Asia/Shanghai' };
    // Migrate first, so neither instance spends its few seconds before 09:00 creating tables.
    const first = await spawnServer('test/helpers/probe-server.ts', env);
    await first.kill('SIGTERM');
    const started = await Promise.all([
      spawnServer('test/helpers/probe-server.ts', env, 20000, ['faketime', '2026-12-01 00:59:35']),
      spawnServer('test/helpers/probe-server.ts', env, 20000, ['faketime', '2026-12-01 00:59:35.5']),
    ]);
    servers.push(...started);

    const ds = createDataSource({ databaseUrl: db.url });
    await ds.initialize();
    try {
      const runs = await waitFor(async () => {
        const rows: { occasion_key: string; status: string; instance_id: string; trigger_kind: string }[] = await ds.query(
          "SELECT occasion_key, status, instance_id, trigger_kind FROM job_runs WHERE job = 'care' AND occasion_key LIKE '%2026-12-01%'",
        );
        return rows.length > 0 && rows.every((r) => r.status !== 'running') ? rows : null;
      }, 60000, 'the 09:00 care run');
      // Give the second instance's fire time to land too, then look again: still one run.
      await new Promise((r) => setTimeout(r, 3000));
      const again: unknown[] = await ds.query("SELECT id FROM job_runs WHERE job = 'care' AND occasion_key LIKE '%2026-12-01%'");
      expect(runs).not.toBeNull();
      expect(runs).toHaveLength(1);
      expect(again).toHaveLength(1);
      expect(runs![0].status).toBe('done');
      // The cron fire itself, not a start-up catch-up: both instances were up before 09:00.
      expect(runs![0].trigger_kind).toBe('schedule');
    } finally {
      await ds.destroy();
    }
  });
});
