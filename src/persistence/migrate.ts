import { MigrationExecutor, type DataSource, type Migration } from 'typeorm';
import { engineOfDataSource, isRetryableLockError } from './data-source.js';

/**
 * Apply the pending migrations, one process at a time.
 *
 * Several instances behind a load balancer start together on a release (and `wecom-ops migrate` may run beside a
 * serving instance). Each used to read the same list of pending migrations and run them: all but one crashed on
 * "Table … already exists", and on MySQL, where every DDL statement commits on its own, two runners could
 * interleave and leave a migration half applied and unrecorded.
 *
 * - MySQL: a named lock for this database (GET_LOCK), held by the connection that runs the migrations, so the
 *   pending list is read under the lock. A crashed holder's lock goes with its connection.
 * - SQLite: the pending list is read and the migrations run in one IMMEDIATE transaction (DDL is transactional in
 *   SQLite), so a second process waits at BEGIN and then finds nothing pending. better-sqlite3 has one connection
 *   per DataSource, so the executor runs on it.
 */
export async function runMigrationsExclusively(ds: DataSource, opts: { waitSeconds?: number } = {}): Promise<Migration[]> {
  const waitSeconds = opts.waitSeconds ?? 600;
  return engineOfDataSource(ds) === 'mysql' ? runUnderMysqlLock(ds, waitSeconds) : runInSqliteWriteLock(ds, waitSeconds);
}

/** Server-wide lock names are at most 64 characters: a hash of the schema name keeps databases apart. */
const LOCK_NAME = "CONCAT('wecom-ops:migrate:', SHA1(DATABASE()))";

async function runUnderMysqlLock(ds: DataSource, waitSeconds: number): Promise<Migration[]> {
  const qr = ds.createQueryRunner();
  try {
    const [{ got }] = (await qr.query(`SELECT GET_LOCK(${LOCK_NAME}, ?) AS got`, [waitSeconds])) as { got: number | null }[];
    if (Number(got) !== 1) throw new Error(`another process has been running migrations for over ${waitSeconds} s; giving up`);
    try {
      const executor = new MigrationExecutor(ds, qr);
      executor.transaction = 'each';
      return await executor.executePendingMigrations();
    } finally {
      await qr.query(`SELECT RELEASE_LOCK(${LOCK_NAME})`).catch(() => undefined);
    }
  } finally {
    await qr.release();
  }
}

async function runInSqliteWriteLock(ds: DataSource, waitSeconds: number): Promise<Migration[]> {
  const qr = ds.createQueryRunner();
  const giveUpAt = Date.now() + waitSeconds * 1000;
  // As TypeORM does around migrations: foreign keys off while tables may be rebuilt (a no-op inside a transaction).
  await qr.beforeMigration();
  try {
    for (;;) {
      try {
        // BEGIN TRANSACTION is begun IMMEDIATE on this connection (see createDataSource): it takes the write lock,
        // waiting busy_timeout for it.
        await qr.startTransaction();
        break;
      } catch (err) {
        // TypeORM marks the transaction active before BEGIN succeeds; it is not.
        (qr as { isTransactionActive: boolean }).isTransactionActive = false;
        if (!isRetryableLockError(err) || Date.now() > giveUpAt) throw err;
      }
    }
    try {
      // 'all': the executor sees our transaction and starts none of its own.
      const executor = new MigrationExecutor(ds, qr);
      executor.transaction = 'all';
      const ran = await executor.executePendingMigrations();
      await qr.commitTransaction();
      return ran;
    } catch (err) {
      await qr.rollbackTransaction().catch(() => undefined);
      throw err;
    }
  } finally {
    await qr.afterMigration();
  }
}
