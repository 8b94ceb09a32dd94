/**
 * Whose turn it is to write an SQLite file, between the main connection and the durable writer's thread of the same
 * process (docs/reliability.md §Taking turns at SQLite's write lock).
 *
 * Why: SQLite has one writer at a time. Left to itself, a connection that finds the write lock taken sleeps in its
 * busy handler, in steps that grow to 25, 50 and then 100 ms, and on the main thread that sleep blocks the event loop.
 * Under a surge the durable writer, which commits callbacks before they are acknowledged, kept finding the lock held
 * by a handler's transaction and slept past the moment it was free: acknowledgements waited tens of milliseconds
 * for a lock that was busy for one or two. Here the two sides hand the lock over through shared memory instead:
 * - the writer thread (acknowledgements) goes first: while it waits, the main connection starts no new turn;
 * - the main thread waits without blocking its event loop (Atomics.waitAsync), the writer thread with Atomics.wait;
 * - a release wakes the other side at once.
 *
 * The turn is advisory. SQLite's own locking still decides, and busy_timeout still covers every other connection
 * (other processes, the reader thread, the handler thread). A wait never lasts longer than `maxWaitMs`: after that
 * the main connection goes ahead and SQLite's busy handler takes over, so a lost wake-up costs time, never a hang.
 *
 * Layout of the shared Int32Array: [HELD] is 1 while one side holds the turn; [WAITING] counts writer-thread waiters.
 * The worker's half is in sqlite-durable.worker.js (plain JavaScript) and follows the same layout.
 */
const HELD = 0;
const WAITING = 1;
/** How often a waiter looks again if no wake-up came (a missed notify must not cost more than this). */
const RECHECK_MS = 20;

export class SqliteWriteTurn {
  readonly buffer = new SharedArrayBuffer(8);
  private readonly cell = new Int32Array(this.buffer);

  constructor(private readonly maxWaitMs = 10_000) {}

  /** Run `fn` holding the turn (the main connection's side). */
  async hold<T>(fn: () => Promise<T>): Promise<T> {
    const held = await this.acquire();
    try {
      return await fn();
    } finally {
      if (held) this.release();
    }
  }

  /** Let a waiter go after the writer thread died holding the turn. */
  reset(): void {
    Atomics.store(this.cell, HELD, 0);
    Atomics.notify(this.cell, HELD);
  }

  private async acquire(): Promise<boolean> {
    const until = performance.now() + this.maxWaitMs;
    for (;;) {
      // The writer thread's commits acknowledge callbacks: while it waits, it goes first.
      for (let n = Atomics.load(this.cell, WAITING); n !== 0; n = Atomics.load(this.cell, WAITING)) {
        if (performance.now() >= until) return false;
        await waitAsync(this.cell, WAITING, n);
      }
      if (Atomics.compareExchange(this.cell, HELD, 0, 1) === 0) return true;
      if (performance.now() >= until) return false;
      await waitAsync(this.cell, HELD, 1);
    }
  }

  private release(): void {
    Atomics.store(this.cell, HELD, 0);
    Atomics.notify(this.cell, HELD);
  }
}

/** Atomics.waitAsync (Node 16+, V8), which the ES2023 library types do not declare yet. */
const atomicsWaitAsync = (Atomics as unknown as {
  waitAsync(cell: Int32Array, index: number, value: number, timeoutMs: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync;

/** Wait until cell[index] is no longer `value`, a wake-up comes, or RECHECK_MS pass, without blocking the loop. */
async function waitAsync(cell: Int32Array, index: number, value: number): Promise<void> {
  const r = atomicsWaitAsync(cell, index, value, RECHECK_MS);
  if (r.async) await r.value;
}
