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

// Taking turns at the write lock with the main connection (sqlite-write-turn.ts;
// docs/reliability.md §Taking turns at SQLite's write lock): this side goes first, and waits with Atomics.wait,
// which blocks only this thread.
const turn = workerData.turn ? new Int32Array(workerData.turn) : null;
const HELD = 0;
const WAITING = 1;
function takeTurn() {
  const until = Date.now() + Number(workerData.busyTimeoutMs);
  Atomics.add(turn, WAITING, 1);
  try {
    while (Atomics.compareExchange(turn, HELD, 0, 1) !== 0) {
      // Past the deadline, go ahead: SQLite's own lock and busy_timeout still decide.
      if (Date.now() >= until) return false;
      Atomics.wait(turn, HELD, 1, 20);
    }
    return true;
  } finally {
    Atomics.sub(turn, WAITING, 1);
    Atomics.notify(turn, WAITING);
  }
}
function giveTurn() {
  Atomics.store(turn, HELD, 0);
  Atomics.notify(turn, HELD);
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
    const held = turn ? takeTurn() : false;
    let info;
    try {
      info = statement.run(...params);
    } finally {
      if (held) giveTurn();
    }
    parentPort.postMessage({ id, ok: true, changes: info.changes });
  } catch (err) {
    parentPort.postMessage({ id, ok: false, code: err.code, message: err.message });
  }
});

parentPort.postMessage({ ready: true });
