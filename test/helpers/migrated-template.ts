import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import type { DbEngine } from '../../src/persistence/data-source.js';
import { createTestDatabase, type TestDatabase } from './databases.js';

/** The environment variable naming the templates test/helpers/global-setup.ts built for this run. */
export const TEMPLATES_ENV = 'WECOM_OPS_TEST_TEMPLATES';

/** Databases migrated once per run (test/helpers/global-setup.ts). */
export interface MigratedTemplates {
  /** A migrated SQLite file, checkpointed (no WAL beside it). */
  sqliteFile: string;
  /** A migrated MySQL schema: its tables' CREATE statements, and the tables that hold rows (the migrations list). */
  mysql: { schema: string; ddl: string[]; withRows: string[] } | null;
}

let loaded: MigratedTemplates | null | undefined;
function templates(): MigratedTemplates | null {
  if (loaded === undefined) {
    const file = process.env[TEMPLATES_ENV];
    loaded = file ? (JSON.parse(readFileSync(file, 'utf8')) as MigratedTemplates) : null;
  }
  return loaded;
}

/**
 * A new database with every migration applied, copied from this run's template; outside a vitest run (a benchmark
 * using the test app) or without a template for the engine, an empty database the app then migrates, as before.
 * Only the copy differs: the app still runs its migrations at boot and finds none pending.
 */
export async function createMigratedTestDatabase(engine: DbEngine): Promise<TestDatabase> {
  const t = templates();
  if (engine === 'sqlite' && t) {
    const dir = mkdtempSync(join(tmpdir(), 'wecom_ops_t-'));
    const file = join(dir, 'db.sqlite');
    copyFileSync(t.sqliteFile, file);
    return { engine, url: `sqlite:${file}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  if (engine === 'mysql' && t?.mysql) {
    const db = await createTestDatabase('mysql');
    // Four connections: each CREATE TABLE mostly waits on MariaDB's file syncs, and they overlap.
    const { ddl, withRows, schema } = t.mysql;
    const conns = await Promise.all([0, 1, 2, 3].map(() => createConnection({ uri: db.url, multipleStatements: true })));
    try {
      await Promise.all(conns.map((c, i) => c.query(ddl.filter((_, j) => j % conns.length === i).join(';\n'))));
      for (const table of withRows) await conns[0].query(`INSERT INTO \`${table}\` SELECT * FROM \`${schema}\`.\`${table}\``);
    } finally {
      await Promise.all(conns.map((c) => c.end()));
    }
    return db;
  }
  return createTestDatabase(engine);
}
