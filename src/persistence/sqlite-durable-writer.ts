import { Worker } from 'node:worker_threads';
import type { SqliteWriteTurn } from './sqlite-write-turn.js';

interface Waiter {
  resolve: (changes: number) => void;
  reject: (err: Error) => void;
}

/** A driver error rebuilt from the worker's message, with the SQLite code `isDuplicateKeyError` looks at. */
function sqliteError(code: string | undefined, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** better-sqlite3 binds numbers, strings, bigints, buffers and null; the main connection's driver maps the rest. */
function bindable(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Date) return v.getTime();
  return v;
}

/**
 * Durable writes to an SQLite file from a worker thread with a connection of its own.
 *
 * Why: better-sqlite3 is synchronous, so a commit with synchronous=FULL blocks the event loop for its fsync (about
 * 1.3 ms on this machine's disk), and nothing else runs meanwhile: no callback is read, verified or decrypted while
 * the previous batch is being made durable. In the thread, the fsync overlaps that work, and the next group
 * commit gathers while the current one is on its way to disk. The acknowledgement still waits for the commit.
 *
 * SQLite allows one writer at a time across connections; the main connection begins its transactions IMMEDIATE
 * (data-source.ts), so each side waits for the other with busy_timeout instead of failing on a stale snapshot.
 * A worker that dies fails the statements in flight (the callers answer 503 and WeCom retries) and is started
 * again on the next write.
 */
export class SqliteDurableWriter {
  private worker: Worker | undefined;
  private ready: Promise<void> | undefined;
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 1;
  private isClosed = false;
  /** Resolved when no write is in flight any more (close() waits for it). */
  private onIdle: (() => void)[] = [];

  constructor(
    private readonly file: string,
    private readonly busyTimeoutMs = 10_000,
    /** Shared with the main connection so the two take turns at the write lock instead of sleeping on it. */
    private readonly turn?: SqliteWriteTurn,
  ) {}

  /** Run one statement; resolves with the rows it changed once its commit is on disk. */
  run(sql: string, params: unknown[]): Promise<number> {
    if (this.isClosed) return Promise.reject(new Error('the durable SQLite writer is closed'));
    const id = this.nextId++;
    // Registered before the thread is (re)started, so close() waits for this write too.
    const done = new Promise<number>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    this.start().then(
      (worker) => {
        if (!this.waiting.has(id)) return;
        // Keep the process alive only while a write is in flight (see start()).
        worker.ref();
        worker.postMessage({ id, sql, params: params.map(bindable) });
      },
      (err: unknown) => {
        const w = this.waiting.get(id);
        this.waiting.delete(id);
        w?.reject(err as Error);
      },
    );
    return done;
  }

  /** Let the writes in flight finish, then stop the thread. */
  async close(): Promise<void> {
    this.isClosed = true;
    const worker = this.worker;
    if (!worker) return;
    if (this.waiting.size > 0) await new Promise<void>((r) => this.onIdle.push(r));
    this.worker = undefined;
    await worker.terminate();
  }

  private start(): Promise<Worker> {
    if (this.worker && this.ready) {
      const worker = this.worker;
      return this.ready.then(() => worker);
    }
    const worker = new Worker(new URL('./sqlite-durable.worker.js', import.meta.url), {
      workerData: { file: this.file, busyTimeoutMs: this.busyTimeoutMs, turn: this.turn?.buffer },
    });
    // An idle writer must not keep a CLI command or a test alive; run() refs it while it has work.
    worker.unref();
    this.worker = worker;
    this.ready = new Promise<void>((resolve, reject) => {
      worker.once('message', (m: { ready: boolean; code?: string; message?: string }) =>
        m.ready ? resolve() : reject(sqliteError(m.code, `durable writer could not open ${this.file}: ${m.message}`)),
      );
      worker.once('error', reject);
    });
    worker.on('message', (m: { id?: number; ok?: boolean; changes?: number; code?: string; message?: string }) => {
      if (m.id === undefined) return;
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.ok) w.resolve(m.changes ?? 0);
      else w.reject(sqliteError(m.code, m.message ?? 'SQLite error'));
      if (this.waiting.size === 0) this.idle(worker);
    });
    const fail = (err: Error) => {
      // A thread that died holding the turn would leave the main connection waiting for it.
      this.turn?.reset();
      if (this.worker === worker) {
        this.worker = undefined;
        this.ready = undefined;
      }
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
      this.idle(worker);
    };
    worker.on('error', (err) => fail(err));
    worker.on('exit', (code) => fail(new Error(`durable writer thread exited with code ${code}`)));
    return this.ready.then(
      () => worker,
      (err: unknown) => {
        fail(err as Error);
        throw err;
      },
    );
  }

  private idle(worker: Worker): void {
    worker.unref();
    for (const r of this.onIdle.splice(0)) r();
  }
}
