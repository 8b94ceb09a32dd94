import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DataSource, type DataSourceOptions, type EntitySchema, type MigrationInterface } from 'typeorm';

/** The database engines wecom-ops runs on. */
export type DbEngine = 'sqlite' | 'mysql';

/** Which engine a DATABASE_URL points at. */
export function engineOf(databaseUrl: string): DbEngine {
  return databaseUrl.startsWith('mysql://') ? 'mysql' : 'sqlite';
}

export interface DataSourceInput {
  databaseUrl: string;
  // TypeORM's schemas are generic in their entity; a list of different ones has no narrower common type.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  entities?: EntitySchema<any>[];
  migrations?: (new () => MigrationInterface)[];
  /** mysql2 pool size (default 20: 16 inbox workers, the group-committing inbox writer and the API share it). */
  poolSize?: number;
}

/**
 * Build (not initialize) the TypeORM DataSource for a DATABASE_URL.
 * SQLite: better-sqlite3 in WAL mode with a busy timeout, so several processes can share the file.
 * MySQL: mysql2 with utf8mb4, UTC on the wire (`timezone: 'Z'`; mysql2 ignores IANA names,
 * docs/reliability.md §Dates through mysql2) and DATE columns as strings so birthdays never shift a day.
 */
export function createDataSource(input: DataSourceInput): DataSource {
  const common = {
    entities: input.entities ?? [],
    migrations: input.migrations ?? [],
    migrationsRun: false,
    synchronize: false,
    logging: false as const,
  };
  let options: DataSourceOptions;
  if (engineOf(input.databaseUrl) === 'mysql') {
    const { url, socketPath } = mysqlSocketOf(input.databaseUrl);
    options = {
      ...common,
      type: 'mysql',
      url,
      ...(socketPath ? { socketPath } : {}),
      charset: 'utf8mb4_unicode_ci',
      timezone: 'Z',
      dateStrings: ['DATE'],
      supportBigNumbers: true,
      bigNumberStrings: false,
      poolSize: input.poolSize ?? 20,
      // trace: false. mysql2's promise API (TypeORM's) otherwise captures a stack trace before every statement, for
      // its errors; a CPU profile of the surge bench put 4.7 % of the bot's main thread there. TypeORM rethrows a
      // failed statement as a QueryFailedError from its own awaiting frame, so the caller's async stack is kept.
      extra: { connectionLimit: input.poolSize ?? 20, enableKeepAlive: true, trace: false },
    };
  } else {
    const file = input.databaseUrl.slice('sqlite:'.length) || ':memory:';
    if (file !== ':memory:') secureSqliteFiles(file);
    options = {
      ...common,
      type: 'better-sqlite3',
      database: file,
      prepareDatabase: async (db: { pragma(s: string): unknown; prepare(sql: string): unknown }) => {
        // TypeORM begins SQLite transactions DEFERRED. With a second writer on the file (the durable inbox writer's
        // thread, another process), a deferred transaction that reads and then writes fails with
        // SQLITE_BUSY_SNAPSHOT if the other committed in between, without waiting. IMMEDIATE takes the write lock
        // at BEGIN, waiting up to busy_timeout for it.
        const prepare = db.prepare.bind(db);
        db.prepare = (sql: string) => prepare(sql === 'BEGIN TRANSACTION' ? 'BEGIN IMMEDIATE TRANSACTION' : sql);
        db.pragma('busy_timeout = 10000');
        await switchToWal(db);
        // NORMAL in WAL mode survives a process crash; commits that acknowledge something to the outside world
        // (the callback inbox) are made with FULL, see Db.queryDurable().
        db.pragma('synchronous = NORMAL');
        db.pragma('foreign_keys = ON');
        // SQLite's own 2 MB of page cache (2,000 KiB), not the 16 MB better-sqlite3 builds in: this connection runs
        // the long jobs that stream the whole archive, which fill any cache and reuse little of it, and the operating
        // system caches the file anyway. At 16 MB planning a broadcast to 1,000,000 customers peaked over 300 MB
        // (docs/audiences.md §Memory while planning).
        db.pragma('cache_size = -2000');
      },
    };
  }
  return new DataSource(options);
}

/**
 * A MySQL URL's `socket` parameter (`mysql://wecom@localhost/wecom_ops?socket=/run/mysqld/mysqld.sock`): the
 * database on the same host, reached through its Unix socket instead of TCP
 * (docs/reliability.md §MySQL on the same host). Returns the URL without the parameter, which TypeORM's URL parser
 * would take for part of the database name.
 */
export function mysqlSocketOf(databaseUrl: string): { url: string; socketPath?: string } {
  // Any other URL goes to TypeORM untouched, as before (no second parser's idea of its password).
  if (!/[?&]socket=/.test(databaseUrl)) return { url: databaseUrl };
  const parsed = new URL(databaseUrl);
  const socketPath = parsed.searchParams.get('socket') ?? '';
  if (!socketPath.startsWith('/')) throw new Error(`DATABASE_URL: socket must be an absolute path to the server's Unix socket, got "${socketPath}"`);
  parsed.searchParams.delete('socket');
  return { url: parsed.toString(), socketPath };
}

/**
 * Puts the file in WAL mode, retrying while another connection holds the lock. Switching the journal mode needs the
 * file to itself, and SQLite answers SQLITE_BUSY at once, without its busy handler, when another process is opening
 * or closing the same file at that moment (an ingress and a worker starting together; a worker replaced after a
 * crash). The retry gives up after `budgetMs` with the driver's own error.
 */
export async function switchToWal(db: { pragma(s: string): unknown }, budgetMs = 10_000): Promise<void> {
  const until = Date.now() + budgetMs;
  for (let wait = 10; ; wait = Math.min(wait * 2, 250)) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (!code.startsWith('SQLITE_BUSY') || Date.now() + wait > until) throw err;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/**
 * Owner-only (0600) SQLite files: they hold names, remarks, notes and KF text (docs/security.md §Files at rest).
 * Creates the database file 0600 before SQLite opens it; SQLite gives the -wal and -shm it creates later the main
 * file's permissions. Files left looser by an older version are tightened. Returns the paths whose mode was changed,
 * so the caller can log it. Idempotent.
 */
export function secureSqliteFiles(file: string): string[] {
  const path = resolve(file);
  mkdirSync(dirname(path), { recursive: true });
  // 'a' creates without truncating; the mode applies only when the file is created (umask can only narrow it).
  if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  const changed: string[] = [];
  for (const f of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    let mode: number;
    try {
      mode = statSync(f).mode;
    } catch {
      continue; // -wal/-shm exist only while a connection is open
    }
    if ((mode & 0o077) !== 0) {
      chmodSync(f, 0o600);
      changed.push(f);
    }
  }
  return changed;
}

/** The engine behind an initialized DataSource. */
export function engineOfDataSource(ds: DataSource): DbEngine {
  return ds.options.type === 'mysql' || ds.options.type === 'mariadb' ? 'mysql' : 'sqlite';
}

/** True when a driver error is a unique-key violation (MySQL 1062 ER_DUP_ENTRY, SQLite SQLITE_CONSTRAINT_UNIQUE). */
export function isDuplicateKeyError(err: unknown): boolean {
  const e = err as { code?: string; errno?: number; driverError?: { code?: string; errno?: number } };
  const code = e?.driverError?.code ?? e?.code;
  const errno = e?.driverError?.errno ?? e?.errno;
  return code === 'ER_DUP_ENTRY' || errno === 1062 || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** True when a driver error is a deadlock or lock-wait timeout worth retrying (MySQL 1213 / 1205, SQLite BUSY). */
export function isRetryableLockError(err: unknown): boolean {
  const e = err as { code?: string; errno?: number; driverError?: { code?: string; errno?: number } };
  const code = e?.driverError?.code ?? e?.code;
  const errno = e?.driverError?.errno ?? e?.errno;
  return errno === 1213 || errno === 1205 || code?.startsWith('SQLITE_BUSY') === true || code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT';
}
