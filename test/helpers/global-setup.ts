import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import { createDataSource } from '../../src/persistence/data-source.js';
import { runMigrationsExclusively } from '../../src/persistence/migrate.js';
import { migrations } from '../../migrations/index.js';
import { TEMPLATES_ENV, type MigratedTemplates } from './migrated-template.js';

/**
 * Runs once per `vitest run`, before any test file: migrates one SQLite file and (with TEST_MYSQL_URL) one MySQL
 * schema, and records them for test/helpers/migrated-template.ts, which copies them for every test app.
 *
 * Why: each MySQL test database used to run all migrations itself, about 300 DDL statements that wait on MariaDB's
 * file syncs for 4–7 s. Over some 130 databases a run, that was minutes of CI spent creating the same schema. A copy
 * made from `SHOW CREATE TABLE` is about 100 statements. The template is built with the migration runner the product
 * uses (runMigrationsExclusively), from the same migrations/index.ts, in this run, so it cannot be stale; tests about
 * migrating (migrate-concurrent, the CLI's migrate, useMigratedWithout, spawned servers booting) still start from an
 * empty database.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'wecom_ops_tmpl-'));
  const sqliteFile = join(dir, 'migrated.sqlite');
  const sqlite = createDataSource({ databaseUrl: `sqlite:${sqliteFile}`, migrations });
  await sqlite.initialize();
  await runMigrationsExclusively(sqlite);
  // Fold the WAL into the main file, so a copy of that one file is the whole database.
  await sqlite.query('PRAGMA wal_checkpoint(TRUNCATE)');
  await sqlite.destroy();

  const templates: MigratedTemplates = { sqliteFile, mysql: null };
  let dropMysql = async (): Promise<void> => undefined;
  const base = process.env.TEST_MYSQL_URL;
  if (base) {
    const schema = `wecom_ops_tmpl_${process.pid}_${randomBytes(3).toString('hex')}`;
    const admin = await createConnection(base).catch((err: Error) => {
      throw new Error(`TEST_MYSQL_URL is set but MySQL is unreachable (${base}): ${err.message}`);
    });
    try {
      await admin.query(`CREATE DATABASE \`${schema}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      const u = new URL(base);
      u.pathname = `/${schema}`;
      const ds = createDataSource({ databaseUrl: u.toString(), migrations });
      await ds.initialize();
      try {
        await runMigrationsExclusively(ds);
      } finally {
        await ds.destroy();
      }
      const [tables] = await admin.query<import('mysql2').RowDataPacket[]>(
        "SELECT table_name AS t, table_type AS type FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name",
        [schema],
      );
      const ddl: string[] = [];
      const withRows: string[] = [];
      for (const { t, type } of tables as { t: string; type: string }[]) {
        if (type !== 'BASE TABLE') throw new Error(`the migrated schema has a ${type} (${t}); the test template copies tables only`);
        const [[created]] = await admin.query<import('mysql2').RowDataPacket[]>(`SHOW CREATE TABLE \`${schema}\`.\`${t}\``);
        ddl.push(String(created['Create Table']));
        const [[count]] = await admin.query<import('mysql2').RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${schema}\`.\`${t}\``);
        if (Number(count.n) > 0) withRows.push(t);
      }
      templates.mysql = { schema, ddl, withRows };
      dropMysql = async () => {
        const c = await createConnection(base);
        await c.query(`DROP DATABASE IF EXISTS \`${schema}\``);
        await c.end();
      };
    } finally {
      await admin.end();
    }
  }
  const file = join(dir, 'templates.json');
  writeFileSync(file, JSON.stringify(templates));
  // Test files run in forked workers, which inherit this environment.
  process.env[TEMPLATES_ENV] = file;
  return async () => {
    await dropMysql();
    rmSync(dir, { recursive: true, force: true });
  };
}
