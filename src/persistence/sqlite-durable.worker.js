// The thread behind SqliteDurableWriter (sqlite-durable-writer.ts): its own better-sqlite3 connection to the
// database file, with synchronous=FULL, running one statement per message. Plain JavaScript so that it loads in any
// runner (tsx, vitest, plain node) without a TypeScript loader in the worker.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

let db;
try {
  db = new Database(workerData.file);
  db.pragma(`busy_timeout = ${Number(workerData.busyTimeoutMs)}`);
  // Switching to WAL needs the file to itself and fails at once, without the busy handler, while another process
  // opens or closes it; retry as switchToWal() in data-source.ts does, blocking only this thread.
  const until = Date.now() + Number(workerData.busyTimeoutMs);
  for (let wait = 10; ; wait = Math.min(wait * 2, 250)) {
    try {
      db.pragma('journal_mode = WAL');
      break;
    } catch (err) {
      if (!String(err.code).startsWith('SQLITE_BUSY') || Date.now() + wait > until) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
    }
  }
  // Every statement here acknowledges something to the outside world: its commit must be on disk.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // 64 MiB of page cache instead of 2: inserts land at random places in the dedupe key's index, which outgrows the
  // default cache within minutes of heavy traffic, and every miss is a read on the acknowledgement path.
  db.pragma('cache_size = -65536');
} catch (err) {
  parentPort.postMessage({ ready: false, code: err.code, message: err.message });
  process.exit(1);
}

// Prepared statements by SQL text; the inbox uses a handful of shapes (one per batch size).
const statements = new Map();

parentPort.on('message', ({ id, sql, params }) => {
  try {
    let statement = statements.get(sql);
    if (!statement) {
      if (statements.size >= 256) statements.clear();
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    const info = statement.run(...params);
    parentPort.postMessage({ id, ok: true, changes: info.changes });
  } catch (err) {
    parentPort.postMessage({ id, ok: false, code: err.code, message: err.message });
  }
});

parentPort.postMessage({ ready: true });
