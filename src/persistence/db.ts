import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { engineOfDataSource, isDuplicateKeyError, isRetryableLockError, type DbEngine } from './data-source.js';
import { SqliteDurableWriter } from './sqlite-durable-writer.js';
import { SqliteReader } from './sqlite-reader.js';
import { SqliteWriteTurn } from './sqlite-write-turn.js';
import { isStatementTimeoutError, QueryTimeoutError } from './query-timeout.error.js';
import { withStatementDeadline, type MysqlFlavor } from './statement-deadline.js';

/** The slice of mysql2's callback pool (TypeORM's MysqlDriver.pool) that `queryDurable` needs. */
interface MysqlPool {
  getConnection(cb: (err: (Error & { code?: string }) | null, conn: MysqlPoolConnection) => void): void;
  end(cb: (err: unknown) => void): void;
}
/** The slice of TypeORM's MysqlDriver that builds a pool like its own. */
interface MysqlDriverLike {
  options: object;
  mysql: { createPool(opts: object): MysqlPool };
  createConnectionOptions(options: object, credentials: object): Record<string, unknown>;
}
interface MysqlPoolConnection {
  query(opts: { sql: string; timeout: number }, params: unknown[], cb: (err: (Error & { code?: string }) | null, rows: unknown) => void): void;
  release(): void;
  destroy(): void;
}

/** A FIFO async mutex. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => (release = r));
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

/**
 * The one door to the database. Every repository goes through it.
 *
 * Why: TypeORM's better-sqlite3 driver shares a single query runner for the whole process, so two concurrent
 * `transaction()` calls (or a `save()` during someone else's transaction) silently join one transaction; a
 * rollback would then take an already-acknowledged callback with it. On SQLite every unit of work is therefore
 * serialized through a mutex (SQLite has one writer anyway, and better-sqlite3 is synchronous). On MySQL work runs
 * on the pool, and transactions retry on deadlock (1213) and lock-wait timeout (1205)
 * (docs/reliability.md §Database idioms).
 */
export class Db {
  readonly engine: DbEngine;
  private readonly mutex = new Mutex();
  /** mysql2 connections already switched to READ COMMITTED for the session. */
  private readonly readCommitted = new WeakSet<object>();

  /** SQLite file databases: durable statements run on a connection in a worker thread (see SqliteDurableWriter). */
  private readonly durableWriter: SqliteDurableWriter | undefined;
  /** SQLite file databases: the main connection and the durable writer take turns at the write lock (see SqliteWriteTurn). */
  private readonly writeTurn: SqliteWriteTurn | undefined;
  /** SQLite file databases: API reads run on a read-only connection in a worker thread (see SqliteReader). */
  private readonly apiReader: SqliteReader | undefined;
  /** Deadline of one API read (API_STATEMENT_TIMEOUT_MS); 0 for none. */
  private readonly apiReadTimeoutMs: number;
  private mysqlFlavor: Promise<MysqlFlavor> | undefined;
  /** MySQL: the inbox's own connections (durablePoolSize of them), opened on first use (docs/inbox.md §Acknowledgements on MySQL). */
  private durablePool: MysqlPool | undefined;
  private readonly durablePoolSize: number;

  constructor(
    readonly dataSource: DataSource,
    opts: { apiReadTimeoutMs?: number; durablePoolSize?: number } = {},
  ) {
    this.engine = engineOfDataSource(dataSource);
    this.apiReadTimeoutMs = opts.apiReadTimeoutMs ?? 5_000;
    this.durablePoolSize = opts.durablePoolSize ?? 0;
    const file = this.engine === 'sqlite' ? (dataSource.options as { database?: unknown }).database : undefined;
    if (typeof file === 'string' && file !== '' && file !== ':memory:') {
      this.writeTurn = new SqliteWriteTurn();
      this.durableWriter = new SqliteDurableWriter(file, undefined, this.writeTurn);
      this.apiReader = new SqliteReader(file, this.apiReadTimeoutMs);
    }
  }

  /** Stop the worker threads after their work in flight; the DataSource is closed by its owner. */
  async close(): Promise<void> {
    await this.apiReader?.close();
    await this.durableWriter?.close();
    const pool = this.durablePool;
    this.durablePool = undefined;
    if (pool) await new Promise<void>((r) => pool.end(() => r()));
  }

  /**
   * A read-only SELECT on behalf of an API caller (customer lists, audience counts and previews), which any staff
   * member can make as expensive as the language allows. It must never hold up the acknowledgement of a WeCom
   * callback, and it gets a deadline of its own, much shorter than DB_STATEMENT_TIMEOUT_MS (docs/security.md
   * §Audience queries): on an SQLite file it runs on the reader thread; on MariaDB/MySQL the server stops it at
   * API_STATEMENT_TIMEOUT_MS. Past the deadline: QueryTimeoutError (503). An in-memory SQLite database has no second
   * connection, so the read runs here as before.
   */
  async apiRead<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    if (this.apiReader) return this.apiReader.all<T>(sql, params);
    if (this.engine === 'sqlite' || this.apiReadTimeoutMs <= 0) return this.query<T>(sql, params);
    const flavor = await this.flavor();
    try {
      return (await this.dataSource.query(withStatementDeadline(sql, flavor, this.apiReadTimeoutMs), params)) as T[];
    } catch (err) {
      if (isStatementTimeoutError(err)) throw new QueryTimeoutError(this.apiReadTimeoutMs);
      throw err;
    }
  }

  /** MariaDB or MySQL, asked once: the per-statement deadline is written differently on each. */
  private flavor(): Promise<MysqlFlavor> {
    this.mysqlFlavor ??= this.dataSource.query('SELECT VERSION() AS v').then(
      (rows: { v: string }[]) => (/mariadb/i.test(String(rows[0]?.v)) ? 'mariadb' : 'mysql'),
      (err: unknown) => {
        this.mysqlFlavor = undefined;
        throw err;
      },
    );
    return this.mysqlFlavor;
  }

  /** Run `fn` in a transaction. Keep it short: never call WeCom inside, and use only `em` within (not this Db). */
  async tx<T>(
    fn: (em: EntityManager) => Promise<T>,
    opts: { isolation?: 'READ COMMITTED' | 'SERIALIZABLE' } = {},
  ): Promise<T> {
    const isolation = opts.isolation ?? 'READ COMMITTED';
    for (let attempt = 1; ; attempt++) {
      try {
        // SQLite: another process may hold the write lock (SQLITE_BUSY); retried like a MySQL deadlock.
        if (this.engine === 'sqlite') return await this.onMainConnection(() => this.dataSource.transaction(fn));
        return await this.mysqlTransaction(isolation, (qr) => fn(qr.manager));
      } catch (err) {
        if (attempt >= 5 || !isRetryableLockError(err)) throw err;
        await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 20));
      }
    }
  }

  /** Run `fn` outside an explicit transaction (each statement autocommits). */
  async run<T>(fn: (em: EntityManager) => Promise<T>): Promise<T> {
    if (this.engine === 'sqlite') return this.onMainConnection(() => fn(this.dataSource.manager));
    return fn(this.dataSource.manager);
  }

  /**
   * SQLite: one unit of work at a time on the main connection (the mutex), in its turn at the write lock against
   * the durable writer's thread (docs/reliability.md §Taking turns at SQLite's write lock).
   */
  private onMainConnection<T>(fn: () => Promise<T>): Promise<T> {
    const turn = this.writeTurn;
    return this.mutex.run(turn ? () => turn.hold(fn) : fn);
  }

  /**
   * One write statement whose commit must be on disk when this resolves (a statement is atomic on its own, so no
   * transaction is needed): on MySQL an autocommit statement (durable with innodb_flush_log_at_trx_commit=1, one
   * round trip instead of four); on an SQLite file the same statement on the durable writer's own connection, with
   * synchronous=FULL, off the event loop. Returns rows only on MySQL.
   */
  async queryDurable<T = Record<string, unknown>>(sql: string, params: unknown[] = [], opts: { timeoutMs?: number } = {}): Promise<T[]> {
    if (this.engine === 'mysql') return opts.timeoutMs ? this.mysqlQueryWithDeadline<T>(sql, params, opts.timeoutMs) : (this.dataSource.query(sql, params) as Promise<T[]>);
    if (this.durableWriter) {
      await this.durableWriter.run(sql, params);
      return [];
    }
    // An in-memory database has no second connection: the statement runs here, synchronous=FULL for its commit.
    return this.mutex.run(async () => {
      await this.dataSource.query('PRAGMA synchronous = FULL');
      try {
        return (await this.dataSource.query(sql, params)) as T[];
      } finally {
        await this.dataSource.query('PRAGMA synchronous = NORMAL');
      }
    });
  }

  /**
   * One MySQL statement that gives up after `timeoutMs` (a database that stopped answering, e.g. a network partition),
   * on a connection of its own. mysql2's query timeout only reports the error and leaves the command queued on the
   * socket, so a timed-out connection is destroyed rather than returned to the pool, where the next caller would
   * queue behind the lost reply forever. The outcome of a timed-out write is unknown: callers must be idempotent.
   */
  private mysqlQueryWithDeadline<T>(sql: string, params: unknown[], timeoutMs: number): Promise<T[]> {
    const pool = this.durablePoolSize > 0 ? this.ownDurablePool() : (this.dataSource.driver as unknown as { pool: MysqlPool }).pool;
    return new Promise<T[]>((resolve, reject) => {
      pool.getConnection((err, conn) => {
        if (err) return reject(err);
        conn.query({ sql, timeout: timeoutMs }, params, (qerr, rows) => {
          if (qerr && qerr.code === 'PROTOCOL_SEQUENCE_TIMEOUT') conn.destroy();
          else conn.release();
          if (qerr) reject(qerr);
          else resolve(rows as T[]);
        });
      });
    });
  }

  /**
   * The inbox's own MySQL pool, built from the same connection options as TypeORM's (URL, socket, charset, UTC), so
   * an acknowledgement never queues for a connection behind the handlers, jobs and API (docs/inbox.md
   * §Acknowledgements on MySQL).
   */
  private ownDurablePool(): MysqlPool {
    if (!this.durablePool) {
      const driver = this.dataSource.driver as unknown as MysqlDriverLike;
      this.durablePool = driver.mysql.createPool({ ...driver.createConnectionOptions(driver.options, driver.options), connectionLimit: this.durablePoolSize });
    }
    return this.durablePool;
  }

  /** Raw SQL with `?` placeholders (both engines accept them). Values are always bound, never interpolated. */
  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    // A plain SELECT takes no write lock, so on SQLite it does not wait for the write turn: under a surge a writer
    // thread's commit (with its disk flush) would otherwise hold up every read on the main connection too.
    if (this.engine === 'sqlite' && /^\s*SELECT\b/i.test(sql)) return this.mutex.run(() => this.dataSource.manager.query(sql, params) as Promise<T[]>);
    return this.run((em) => em.query(sql, params) as Promise<T[]>);
  }

  /**
   * A write that may hit a unique key: true when it went in, false when the key was already taken (ER_DUP_ENTRY /
   * SQLITE_CONSTRAINT). The plain-INSERT-and-catch idiom of docs/reliability.md §Database idioms: `affectedRows` of an
   * upsert cannot tell an insert from a no-op duplicate, and `INSERT IGNORE` would swallow other errors too. Any other
   * error throws.
   */
  async writeUnique(sql: string, params: unknown[] = []): Promise<boolean> {
    try {
      await this.query(sql, params);
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  /**
   * Run a write and return how many rows it changed (matched, on MySQL). `em.query` cannot tell: on SQLite TypeORM
   * returns lastInsertRowid for an UPDATE.
   */
  async exec(sql: string, params: unknown[] = []): Promise<number> {
    return this.run(async () => {
      const qr = this.dataSource.createQueryRunner();
      try {
        return (await qr.query(sql, params, true)).affected ?? 0;
      } finally {
        // SQLite's runner is shared and must not be released mid-transaction; release() only clears caches there.
        await qr.release();
      }
    });
  }

  /** On MySQL, a dedicated connection in a transaction, for `SELECT … FOR UPDATE SKIP LOCKED` claims. */
  // The rows' shape is the caller's statement's; each caller annotates what it reads.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async withMysqlTransaction<T>(fn: (query: (sql: string, params?: unknown[]) => Promise<any>) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.mysqlTransaction('READ COMMITTED', (qr) => fn((sql, params = []) => qr.query(sql, params)));
      } catch (err) {
        if (attempt >= 5 || !isRetryableLockError(err)) throw err;
      }
    }
  }

  /**
   * One MySQL transaction on its own pooled connection. READ COMMITTED is set once per connection for the session
   * rather than before every transaction: TypeORM's `transaction(level, …)` sends `SET TRANSACTION ISOLATION LEVEL`
   * as a separate round trip each time, a fifth of all statements on the callback path. Other levels are still set
   * for their one transaction.
   */
  private async mysqlTransaction<T>(isolation: 'READ COMMITTED' | 'SERIALIZABLE', fn: (qr: QueryRunner) => Promise<T>): Promise<T> {
    const qr = this.dataSource.createQueryRunner();
    try {
      const conn = (await qr.connect()) as object;
      if (!this.readCommitted.has(conn)) {
        await qr.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
        this.readCommitted.add(conn);
      }
      await qr.startTransaction(isolation === 'READ COMMITTED' ? undefined : isolation);
      const result = await fn(qr);
      await qr.commitTransaction();
      return result;
    } catch (err) {
      if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
      throw err;
    } finally {
      await qr.release();
    }
  }
}

/** `Db.exec` inside a transaction: run a write on the transaction's connection and return rows changed. */
export async function execIn(em: EntityManager, sql: string, params: unknown[] = []): Promise<number> {
  return (await em.queryRunner!.query(sql, params, true)).affected ?? 0;
}
