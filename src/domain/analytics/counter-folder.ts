import type { Logger } from '../../shared/logger.js';
import { toError } from '../../shared/errors.js';

/** How often waiting counter deltas are added to their rollups. */
const FOLD_EVERY_MS = 1000;

/**
 * Adds the counter deltas the handlers appended (MySQL) to their rollup rows once a second
 * (docs/analytics.md §Counters every add shares). Readers fold first too, so nothing waits on this timer to be seen;
 * it keeps the deltas few. A failed fold is logged and tried again on the next tick: the deltas stay until folded.
 */
export class CounterFolder {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly fold: () => Promise<number>,
    private readonly log: Logger,
    private readonly everyMs = FOLD_EVERY_MS,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.everyMs);
    this.timer.unref();
  }

  /** Stop the timer and fold what is waiting, so a clean stop leaves no deltas behind. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
    await this.fold().catch((err) => this.log.warn({ err: toError(err).message }, 'folding counter deltas on stop failed; the next instance folds them'));
  }

  private tick(): void {
    // One fold at a time in this process: a slow one is not joined by the next tick's.
    this.running = this.running.then(() =>
      this.fold().then(
        () => undefined,
        (err) => this.log.warn({ err: toError(err).message }, 'folding counter deltas failed; will retry'),
      ),
    );
  }
}
