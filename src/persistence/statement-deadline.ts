import type { DataSource } from 'typeorm';

/** The parts of mysql2's callback pool and connections this module touches (mysql2 3.x). */
interface PoolLike {
  getConnection(cb: (err: Error | null, conn: ConnectionLike) => void): void;
}
interface CommandLike {
  constructor: { name: string };
  timeout?: number;
  onResult?: (err: (Error & { code?: string }) | null, ...rest: unknown[]) => void;
}
interface ConnectionLike {
  addCommand(cmd: CommandLike): unknown;
  destroy(): void;
}

const guarded = new WeakSet<object>();

/**
 * Give every MySQL statement on this DataSource's pool a deadline, and drop the connection of a statement that
 * misses it.
 *
 * Why: when the database stops answering without closing the socket (a network partition, a failover that leaves
 * the old address black-holed), a statement waits until the kernel gives up on TCP retransmission, about 15 minutes
 * on Linux. Every inbox worker, job and API request that touches the pool would hang that long, holding its
 * lease and its connection. mysql2's per-query `timeout` reports the error but leaves the lost reply pending on
 * the socket, where the next statement would queue behind it for ever, so the connection is destroyed and the pool
 * opens a fresh one. The callback path has its own, shorter deadline (Db.queryDurable); a statement that already
 * sets a timeout keeps it.
 *
 * Install after migrations: DDL on a large table may rightly run longer than any deadline for ordinary statements.
 * The outcome of a timed-out write is unknown, as with any lost connection: callers are idempotent
 * (docs/reliability.md §Database idioms).
 */
export function installStatementDeadline(dataSource: DataSource, timeoutMs: number): void {
  if (timeoutMs <= 0) return;
  const pool = (dataSource.driver as unknown as { pool?: PoolLike }).pool;
  if (!pool || guarded.has(pool)) return;
  guarded.add(pool);
  const getConnection = pool.getConnection.bind(pool);
  pool.getConnection = (cb) =>
    getConnection((err, conn) => {
      if (!err && conn && !guarded.has(conn)) guard(conn, timeoutMs);
      cb(err, conn);
    });
}

function guard(conn: ConnectionLike, timeoutMs: number): void {
  guarded.add(conn);
  const addCommand = conn.addCommand.bind(conn);
  conn.addCommand = (cmd: CommandLike) => {
    // Only statements: the handshake, ping and quit have timers of their own or none worth bounding here.
    // Streamed queries (no callback) are left alone: their errors are events, not results.
    const onResult = cmd.onResult;
    if ((cmd.constructor.name === 'Query' || cmd.constructor.name === 'Execute') && !cmd.timeout && onResult) {
      cmd.timeout = timeoutMs;
      cmd.onResult = (err, ...rest) => {
        if (err?.code === 'PROTOCOL_SEQUENCE_TIMEOUT') conn.destroy();
        onResult.call(cmd, err, ...rest);
      };
    }
    return addCommand(cmd);
  };
}

/** Which MySQL-protocol server a pool talks to: the per-statement deadline is spelled differently on each. */
export type MysqlFlavor = 'mariadb' | 'mysql';

/**
 * One SELECT with a server-side deadline of its own, for API reads (docs/security.md §Audience queries): MariaDB's
 * `SET STATEMENT max_statement_time=<seconds> FOR`, MySQL 8's optimizer hint `MAX_EXECUTION_TIME(<ms>)`. The
 * server stops the statement and answers an error (isStatementTimeoutError), and the connection stays usable,
 * unlike the client-side deadline above, which only protects against a server that stopped answering.
 */
export function withStatementDeadline(sql: string, flavor: MysqlFlavor, timeoutMs: number): string {
  if (timeoutMs <= 0) return sql;
  if (flavor === 'mariadb') return `SET STATEMENT max_statement_time=${(timeoutMs / 1000).toFixed(3)} FOR ${sql}`;
  // The hint must follow the statement's first SELECT keyword; MySQL ignores it anywhere else.
  const hinted = sql.replace(/^\s*SELECT\b/i, `SELECT /*+ MAX_EXECUTION_TIME(${Math.ceil(timeoutMs)}) */`);
  if (hinted === sql) throw new TypeError('withStatementDeadline: only a statement starting with SELECT can carry MAX_EXECUTION_TIME');
  return hinted;
}
