import { Worker } from 'node:worker_threads';
import { QueryTimeoutError } from './query-timeout.error.js';

interface Job {
  id: number;
  sql: string;
  params: unknown[];
  resolve: (rows: unknown[]) => void;
  reject: (err: Error) => void;
  timer?: NodeJS.Timeout;
}

/** A driver error rebuilt from the worker's message, with the SQLite code callers may look at. */
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
 * Read-only statements on an SQLite file, run in a worker thread with a connection of its own.
 *
 * Why: better-sqlite3 is synchronous, so a heavy SELECT on the main connection (an audience count over many
 * customers) stops the event loop for its whole duration, and a WeCom callback arriving meanwhile is acknowledged
 * only afterwards, past WeCom's 5 s deadline (docs/security.md §Audience queries). Here the statement runs in the
 * thread while the event loop keeps acknowledging callbacks. In WAL mode the reader sees every commit made before
 * its statement starts, so an API read after an API write sees the write.
 *
 * One statement at a time, in order of arrival. A statement still running at its deadline is answered with
 * QueryTimeoutError and the thread is abandoned (better-sqlite3 cannot interrupt a statement; the thread ends once
 * the statement returns) while a fresh one takes the queue. A thread that dies fails only its running statement.
 */
export class SqliteReader {
  private worker: Worker | undefined;
  private ready: Promise<void> | undefined;
  private readonly queue: Job[] = [];
  private running: Job | undefined;
  private nextId = 1;
  private isClosed = false;

  constructor(
    private readonly file: string,
    private readonly timeoutMs: number,
    private readonly busyTimeoutMs = 10_000,
  ) {}

  /** All rows of one SELECT. Rejects with QueryTimeoutError when it has not answered within the deadline. */
  all<T>(sql: string, params: unknown[]): Promise<T[]> {
    if (this.isClosed) return Promise.reject(new Error('the SQLite API reader is closed'));
    return new Promise<T[]>((resolve, reject) => {
      const job: Job = { id: this.nextId++, sql, params: params.map(bindable), resolve: resolve as (rows: unknown[]) => void, reject };
      // The deadline counts from arrival: time spent queued behind another read is time the caller waits too.
      if (this.timeoutMs > 0) job.timer = setTimeout(() => this.expire(job), this.timeoutMs);
      this.queue.push(job);
      this.pump();
    });
  }

  /** Fail what is queued, stop the thread. */
  async close(): Promise<void> {
    this.isClosed = true;
    for (const job of this.queue.splice(0)) this.settle(job, new Error('the SQLite API reader is closed'));
    const worker = this.worker;
    this.worker = undefined;
    this.ready = undefined;
    if (this.running) this.settle(this.running, new Error('the SQLite API reader is closed'));
    this.running = undefined;
    await worker?.terminate();
  }

  private pump(): void {
    if (this.running || this.isClosed) return;
    const job = this.queue.shift();
    if (!job) return;
    this.running = job;
    this.start().then(
      (worker) => {
        if (this.running !== job) return;
        // Keep the process alive only while a read is in flight (see start()).
        worker.ref();
        worker.postMessage({ id: job.id, sql: job.sql, params: job.params });
      },
      (err: unknown) => {
        if (this.running === job) this.finish(job, err as Error);
      },
    );
  }

  private expire(job: Job): void {
    const queued = this.queue.indexOf(job);
    if (queued >= 0) this.queue.splice(queued, 1);
    if (this.running === job) {
      // The statement is still running in the thread: leave that thread to finish alone and go on with a new one.
      const worker = this.worker;
      this.worker = undefined;
      this.ready = undefined;
      this.running = undefined;
      void worker?.terminate();
    }
    this.settle(job, new QueryTimeoutError(this.timeoutMs));
    this.pump();
  }

  private finish(job: Job, err: Error | null, rows?: unknown[]): void {
    if (this.running === job) this.running = undefined;
    if (err) this.settle(job, err);
    else this.settle(job, null, rows);
    if (!this.running && this.queue.length === 0) this.worker?.unref();
    this.pump();
  }

  private settle(job: Job, err: Error | null, rows?: unknown[]): void {
    if (job.timer) clearTimeout(job.timer);
    job.timer = undefined;
    if (err) job.reject(err);
    else job.resolve(rows ?? []);
  }

  private start(): Promise<Worker> {
    if (this.worker && this.ready) {
      const worker = this.worker;
      return this.ready.then(() => worker);
    }
    const worker = new Worker(new URL('./sqlite-reader.worker.js', import.meta.url), {
      workerData: { file: this.file, busyTimeoutMs: this.busyTimeoutMs },
    });
    // An idle reader must not keep a CLI command or a test alive; pump() refs it while it has work.
    worker.unref();
    this.worker = worker;
    this.ready = new Promise<void>((resolve, reject) => {
      worker.once('message', (m: { ready: boolean; code?: string; message?: string }) =>
        m.ready ? resolve() : reject(sqliteError(m.code, `API reader could not open ${this.file}: ${m.message}`)),
      );
      worker.once('error', reject);
    });
    worker.on('message', (m: { id?: number; ok?: boolean; rows?: unknown[]; code?: string; message?: string }) => {
      if (m.id === undefined || this.running?.id !== m.id) return;
      const job = this.running;
      if (m.ok) this.finish(job, null, m.rows);
      else this.finish(job, sqliteError(m.code, m.message ?? 'SQLite error'));
    });
    const fail = (err: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.ready = undefined;
      if (this.running) this.finish(this.running, err);
    };
    worker.on('error', (err) => fail(err));
    worker.on('exit', (code) => fail(new Error(`API reader thread exited with code ${code}`)));
    return this.ready.then(
      () => worker,
      (err: unknown) => {
        fail(err as Error);
        throw err;
      },
    );
  }
}
