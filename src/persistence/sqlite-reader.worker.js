// The thread behind SqliteReader (sqlite-reader.ts): a read-only better-sqlite3 connection to the database file,
// answering one SELECT per message with all its rows. Plain JavaScript so that it loads in any runner (tsx, vitest,
// plain node) without a TypeScript loader in the worker, like sqlite-durable.worker.js.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

let db;
try {
  // Read-only twice over: the open flag, and query_only in case a statement tries to write anyway. In WAL mode a
  // reader sees the last commit when its statement starts and never blocks the writers.
  db = new Database(workerData.file, { readonly: true, fileMustExist: true });
  db.pragma(`busy_timeout = ${Number(workerData.busyTimeoutMs)}`);
  db.pragma('query_only = ON');
  db.pragma('cache_size = -65536');
} catch (err) {
  parentPort.postMessage({ ready: false, code: err.code, message: err.message });
  process.exit(1);
}

// Prepared statements by SQL text; API reads come in a few dozen shapes (audiences differ only in their params
// when they have the same structure).
const statements = new Map();

parentPort.on('message', ({ id, sql, params }) => {
  try {
    let statement = statements.get(sql);
    if (!statement) {
      if (statements.size >= 256) statements.clear();
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    if (!statement.reader) throw Object.assign(new Error('the API reader runs SELECTs only'), { code: 'SQLITE_READONLY' });
    const rows = statement.all(...params);
    parentPort.postMessage({ id, ok: true, rows });
  } catch (err) {
    parentPort.postMessage({ id, ok: false, code: err.code, message: err.message });
  }
});

parentPort.postMessage({ ready: true });
