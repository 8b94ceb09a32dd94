import { afterEach, describe, expect, it, vi } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { resolve } from 'node:path';
import { createTestDatabase, testEngines, type TestDatabase } from '../helpers/databases.js';
import { TEST_DATA_KEY } from '../helpers/app.js';
import { createDataSource } from '../../src/persistence/data-source.js';
import { migrations } from '../../migrations/index.js';

// Real processes (tsx start-up, migrations) take seconds each; on a loaded 2-core CI machine 30 s is too tight.
vi.setConfig({ testTimeout: 120_000 });

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

/**
 * A release starts several instances at once on a database that has migrations pending. They must apply each
 * migration once between them, and every one of them must come up.
 */
describe.each(testEngines())('migrations run by several processes at once on %s', (engine) => {
  let db: TestDatabase | undefined;
  afterEach(async () => db?.drop());

  it('three instances booting at the same instant all come up and apply each migration once', async () => {
    db = await createTestDatabase(engine);
    // Far enough ahead for every process to have loaded; they then migrate at the same instant.
    const startAt = Date.now() + 6000;
    const env = { ...process.env, NODE_ENV: 'test', DATABASE_URL: db.url, DATA_KEY: TEST_DATA_KEY, SANDBOX: 'false', LOG_LEVEL: 'warn', START_AT: String(startAt) };
    const results = await Promise.allSettled(
      Array.from({ length: 3 }, () => run(process.execPath, ['--import', 'tsx', resolve(root, 'test/helpers/boot-at.ts')], { cwd: root, env })),
    );
    // A failure names the process's stderr (before the fix: "Table 'staff' already exists").
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as { stderr?: string }).stderr ?? r.reason).slice(0, 500)] : []));
    expect(failures).toEqual([]);

    const ds = createDataSource({ databaseUrl: db.url });
    await ds.initialize();
    try {
      const rows: { name: string }[] = await ds.query('SELECT name FROM migrations ORDER BY id');
      expect(rows.map((r) => r.name)).toEqual(migrations.map((m) => m.name));
      // The schema is whole: a late migration's table is there.
      await ds.query('SELECT name FROM secrets LIMIT 1');
    } finally {
      await ds.destroy();
    }
  });
});
