/**
 * The benches' own access to their databases, outside the bot: a kept database reused between runs, starting one
 * again from nothing, migrating, and running statements through the engine's driver.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import type { TestDatabase } from '../../test/helpers/databases.js';
import { createDataSource, type DbEngine } from '../../src/persistence/data-source.js';
import { migrations } from '../../migrations/index.js';

/**
 * The database a kept run reuses: a fixed SQLite file or MySQL schema named `name`, and the DATA_KEY the bot used on
 * it (anything the bot sealed stays readable). Never dropped by a bench.
 */
export async function keptDatabase(engine: DbEngine, name: string, mysqlUrl: string): Promise<{ db: TestDatabase; dataKey: string }> {
  const dir = join(tmpdir(), name);
  mkdirSync(dir, { recursive: true });
  const keyFile = join(dir, 'data-key');
  if (!existsSync(keyFile)) writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
  const dataKey = readFileSync(keyFile, 'utf8').trim();
  const drop = async () => undefined;
  if (engine === 'sqlite') return { db: { engine, url: `sqlite:${join(dir, 'db.sqlite')}`, drop }, dataKey };
  const admin = await createConnection(mysqlUrl);
  await admin.query(`CREATE DATABASE IF NOT EXISTS \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  const u = new URL(mysqlUrl);
  u.pathname = `/${name}`;
  return { db: { engine, url: u.toString(), drop }, dataKey };
}

/** Start a kept database again from nothing (the file removed, or the schema dropped and created). */
export async function resetKept(engine: DbEngine, url: string): Promise<void> {
  if (engine === 'sqlite') {
    const file = url.slice('sqlite:'.length);
    for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
    return;
  }
  const u = new URL(url);
  const name = u.pathname.slice(1);
  u.pathname = '/';
  const admin = await createConnection(u.toString());
  await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
}

export async function migrate(url: string): Promise<void> {
  const ds = createDataSource({ databaseUrl: url, migrations });
  await ds.initialize();
  await ds.runMigrations({ transaction: 'each' });
  await ds.destroy();
}

/** Run statements on the bench's database through the engine's driver (outside the bot). */
export async function withDriver<T>(engine: DbEngine, url: string, fn: (q: (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>) => Promise<T>): Promise<T> {
  if (engine === 'sqlite') {
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(url.slice('sqlite:'.length));
    try {
      return await fn(async (sql, params = []) => {
        const st = db.prepare(sql);
        return st.reader ? (st.all(...params) as Record<string, unknown>[]) : (st.run(...params), []);
      });
    } finally {
      db.close();
    }
  }
  const conn = await createConnection(url);
  try {
    return await fn(async (sql, params = []) => {
      const [rows] = await conn.query(sql, params);
      return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
    });
  } finally {
    await conn.end();
  }
}
