import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import type { DbEngine } from '../../src/persistence/data-source.js';

/**
 * The engines this run covers: SQLite always, MySQL when TEST_MYSQL_URL is set. When it is set but unreachable the
 * MySQL tests fail loudly (createTestDatabase throws); when unset they are skipped with a note.
 */
export function testEngines(): DbEngine[] {
  return process.env.TEST_MYSQL_URL ? ['sqlite', 'mysql'] : ['sqlite'];
}

let warned = false;
/** Print once why MySQL tests are not running. */
export function noteMysqlSkipped(): void {
  if (!process.env.TEST_MYSQL_URL && !warned) {
    warned = true;
    process.stderr.write('[wecom-ops tests] TEST_MYSQL_URL is not set: MySQL variants are skipped (SQLite only).\n');
  }
}

/** A database created for one test file and dropped after it. */
export interface TestDatabase {
  engine: DbEngine;
  url: string;
  drop(): Promise<void>;
}

/**
 * Create a fresh, empty database on the given engine (also used by the benchmarks, with their own MySQL URL and
 * name prefix).
 */
export async function createTestDatabase(
  engine: DbEngine,
  opts: { mysqlUrl?: string; prefix?: string } = {},
): Promise<TestDatabase> {
  const prefix = opts.prefix ?? 'wecom_ops_t';
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
    return {
      engine,
      url: `sqlite:${join(dir, 'db.sqlite')}`,
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const base = opts.mysqlUrl ?? process.env.TEST_MYSQL_URL;
  if (!base) throw new Error('TEST_MYSQL_URL is not set');
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = await createConnection(base).catch((err: Error) => {
    throw new Error(`TEST_MYSQL_URL is set but MySQL is unreachable (${base}): ${err.message}`);
  });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  return {
    engine,
    url: u.toString(),
    drop: async () => {
      const c = await createConnection(base);
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await c.end();
    },
  };
}
