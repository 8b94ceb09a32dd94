import type { InboxBacklogRepository } from '../../persistence/repositories/inbox-backlog.repository.js';
import type { Clock } from '../../shared/clock.js';

/** Counts stop here: past it the backlog reads "at least this many", and a count never walks more index entries. */
export const BACKLOG_COUNT_CAP = 100_000;
/** A snapshot younger than this is reused: a load balancer polling /readyz must not multiply the work. */
const CACHE_MS = 1000;
/** How far back samples are kept for the handling rate. */
const RATE_WINDOW_MS = 120_000;
/** A rate measured over less than this is noise. */
const RATE_MIN_SPAN_MS = 1000;

export interface LaneBacklog {
  /** Ready events in the lane (pending, or running under a lease), at most BACKLOG_COUNT_CAP. */
  count: number;
  /** Age of the lane's oldest event, in seconds; null when the lane is empty. */
  oldestAgeSeconds: number | null;
}

/** What `/readyz` and `/metrics` say about the inbox (docs/inbox.md §Backlog and readiness). */
export interface InboxBacklogSnapshot {
  urgent: LaneBacklog;
  ordinary: LaneBacklog;
  /** Unfinished events waiting behind an earlier one of their subject (queue_lane NULL). */
  waiting: number;
  /** Events finished per second, by every worker of this database, over the recent samples; null until measured. */
  handledPerSecond: number | null;
  /** Backlog ÷ handledPerSecond; 0 when empty, null when unknown or not draining. */
  drainSecondsEstimate: number | null;
}

interface Sample {
  at: number;
  maxId: number;
  backlog: number;
}

/**
 * The inbox backlog per lane, read from the shared database so every process (ingress or worker) reports the same
 * queue. Only index reads, each bounded: `(queue_lane, id)` for the lanes and their oldest row, `(status,
 * available_at)` for the unfinished total, the primary key for the newest id.
 *
 * The handling rate needs no counter of its own: between two samples, arrivals are the growth of MAX(id), so
 * handled = arrivals − growth of the backlog. It counts the work of every worker on this database, whichever process
 * asks. Ids skipped by MySQL (rolled-back inserts, ignored duplicates) make it read a little high: an estimate.
 */
export class InboxBacklog {
  private samples: Sample[] = [];
  private cached: { at: number; value: Promise<InboxBacklogSnapshot> } | null = null;

  constructor(
    private readonly repo: InboxBacklogRepository,
    private readonly clock: Clock,
  ) {}

  /** The current snapshot, reused for a second so frequent probes cost one read set. */
  snapshot(): Promise<InboxBacklogSnapshot> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < CACHE_MS) return this.cached.value;
    const value = this.read();
    this.cached = { at: now, value };
    value.catch(() => {
      if (this.cached?.value === value) this.cached = null;
    });
    return value;
  }

  private async read(): Promise<InboxBacklogSnapshot> {
    const nowMs = this.clock.now().getTime();
    const lane = async (n: 0 | 1): Promise<LaneBacklog> => {
      const count = await this.repo.laneCount(n, BACKLOG_COUNT_CAP);
      if (count === 0) return { count, oldestAgeSeconds: null };
      const at = (await this.repo.laneOldestReceivedAt(n)) ?? nowMs;
      return { count, oldestAgeSeconds: Math.max(0, Math.round((nowMs - at) / 100) / 10) };
    };
    const urgent = await lane(1);
    const ordinary = await lane(0);
    const backlog = await this.repo.unfinishedCount(BACKLOG_COUNT_CAP);
    const maxId = await this.repo.maxId();
    const waiting = Math.max(0, backlog - urgent.count - ordinary.count);
    const rate = this.rate({ at: Date.now(), maxId, backlog });
    const drainSecondsEstimate = backlog === 0 ? 0 : rate && rate > 0 ? Math.round((backlog / rate) * 10) / 10 : null;
    return { urgent, ordinary, waiting, handledPerSecond: rate === null ? null : Math.round(rate * 10) / 10, drainSecondsEstimate };
  }

  /** Record a sample; the handling rate since the oldest recent one, or null before there is a span to measure. */
  private rate(s: Sample): number | null {
    this.samples = this.samples.filter((x) => s.at - x.at <= RATE_WINDOW_MS);
    this.samples.push(s);
    const first = this.samples[0];
    const span = s.at - first.at;
    if (span < RATE_MIN_SPAN_MS) return null;
    const handled = s.maxId - first.maxId - (s.backlog - first.backlog);
    return Math.max(0, handled) / (span / 1000);
  }
}
