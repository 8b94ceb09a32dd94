import { EventEmitter } from 'node:events';
import type { InboxRepository } from '../../persistence/repositories/inbox.repository.js';
import type { NewInboxEvent } from './inbox.types.js';
import type { Clock } from '../../shared/clock.js';

/** Too many callbacks are waiting for a commit; the database is slow or gone. */
export class InboxSaturatedError extends Error {
  constructor(queued: number) {
    super(`${queued} callbacks are already waiting for the database`);
    this.name = 'InboxSaturatedError';
  }
}

interface Pending {
  event: NewInboxEvent;
  resolve: (isNew: boolean) => void;
  reject: (err: unknown) => void;
}

/**
 * Stores callbacks durably with group commit: while one batch is being committed, arriving events queue up and
 * go in the next batch, so N concurrent callbacks cost one transaction instead of N. There is no artificial
 * delay: a lone event is written at once. `store()` resolves only after the commit, so the HTTP 200 that follows
 * always means "on disk" (docs/reliability.md §Acknowledge only what is stored).
 */
export class InboxWriter {
  /** Emits 'stored' (with the commit's milliseconds) after each commit that added new events, to wake the workers. */
  readonly events = new EventEmitter();
  private queue: Pending[] = [];
  private flushing = 0;
  private gathering = false;

  /**
   * @param maxFlushes batches committed at once. SQLite has one writer, so 1; MySQL commits in parallel and
   * merges their fsyncs (binlog/redo group commit), so a few concurrent batches keep its log device busy.
   */
  constructor(
    private readonly repo: InboxRepository,
    private readonly clock: Clock,
    private readonly maxBatch = 200,
    private readonly maxFlushes = 1,
    private readonly onBatch?: (size: number) => void,
    /** Give up on a batch's statement after this long (the database stopped answering); 0 waits forever. */
    private readonly statementTimeoutMs = 0,
    /** Refuse new callbacks while this many wait for a commit: during an outage WeCom retries, memory must not grow. */
    private readonly maxQueued = 10_000,
  ) {}

  /** Store one event; resolves true if new, false if it was a redelivery. Rejects if the database refused it. */
  store(event: NewInboxEvent): Promise<boolean> {
    if (this.queue.length >= this.maxQueued) return Promise.reject(new InboxSaturatedError(this.queue.length));
    return new Promise<boolean>((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Start a flush after one event-loop turn rather than at once: requests whose bytes arrived in the same poll
   * phase reach store() before setImmediate fires, so they share one commit. Without this, SQLite (synchronous
   * better-sqlite3, the fsync blocks the loop) wrote nearly one event per commit: the loop was blocked while
   * requests piled up in the kernel, and the first parsed after it started a batch of one. The cost to a lone
   * event is one turn (microseconds), not a timer.
   */
  private schedule(): void {
    if (this.gathering || this.flushing >= this.maxFlushes) return;
    this.gathering = true;
    setImmediate(() => {
      this.gathering = false;
      if (this.queue.length > 0 && this.flushing < this.maxFlushes) void this.flush();
    });
  }

  /** Commit one batch, then gather again (a turn later) for whatever arrived meanwhile. */
  private async flush(): Promise<void> {
    this.flushing++;
    const batch = this.queue.splice(0, this.maxBatch);
    this.onBatch?.(batch.length);
    const started = performance.now();
    try {
      const results = await this.repo.insertBatch(
        batch.map((p) => p.event),
        this.clock.now().getTime(),
        this.statementTimeoutMs > 0 ? { timeoutMs: this.statementTimeoutMs } : {},
      );
      batch.forEach((p, i) => p.resolve(results[i]));
      // With how long the commit took: a handler thread backs off when acknowledgements wait (docs/inbox.md §Handler thread).
      if (results.some(Boolean)) this.events.emit('stored', performance.now() - started);
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      this.flushing--;
      if (this.queue.length > 0) this.schedule();
    }
  }
}
