import type { InboxRepository } from '../../persistence/repositories/inbox.repository.js';
import type { ClaimedEvent, InboundEvent } from './inbox.types.js';
import type { TimelineRepository } from '../../persistence/repositories/timeline.repository.js';
import type { Clock } from '../../shared/clock.js';
import { logContext, type Logger } from '../../shared/logger.js';
import { toError } from '../../shared/errors.js';
import { DEFERRED_FIELD, eventCreateTimeMs, eventField, isDeferred } from './inbound-event.js';
import { KIND_LABELS, type EventHandler, type EventRouter, type TimelineNote } from './event-router.js';
import type { InboxWriter } from './inbox-writer.js';

/**
 * Handlers share the event loop with the callback acknowledgement (docs/inbox.md §Yielding to acknowledgements):
 * when the loop runs late by more than LAG_HIGH_MS the number of concurrent handlers halves, and it grows back by one
 * each sample the loop is on time again (below LAG_LOW_MS). The lag is sampled every LAG_SAMPLE_MS.
 */
const LAG_SAMPLE_MS = 10;
const LAG_HIGH_MS = 8;
const LAG_LOW_MS = 3;

/**
 * In a handler thread the acknowledgements run on another loop, and what they wait for is the inbox's commit
 * (docs/inbox.md §Handler thread): a commit of the main thread's slower than STORE_HIGH_MS halves the ordinary
 * lane's handlers, as a late loop does, and they grow back only once no slow commit was seen for STORE_CALM_MS.
 */
const STORE_HIGH_MS = 20;
const STORE_CALM_MS = 250;

/**
 * Extra priority-lane slots per ordinary-lane slot allowed now (docs/inbox.md §Deadline first). The lane's handlers
 * mostly wait: on WeCom (externalcontact/get, send_welcome_msg, each capped per API) and on a few single statements.
 * Under a surge every round trip slows, and with `workers` slots the lane filled and adds queued for a slot while
 * their welcome_code ran out, however idle the process was. The extra slots follow the event loop's lag as the
 * ordinary lane's do, so in one process they give way to acknowledgements; the first `workers` never shrink.
 */
const EXTRA_URGENT_SLOTS_PER_ALLOWED = 2;

/** How often waiting heads left by a MySQL race are repaired. */
const HEAL_EVERY_MS = 5000;
/** Every this many repairs (5 minutes) one looks at every waiting event instead of the recent ones. */
const HEAL_FULL_EVERY = 60;

/** Tuning for the workers (config `inbox.*`). */
export interface InboxProcessorOptions {
  workers: number;
  pollIntervalMs: number;
  leaseMs: number;
  /** Lease of a priority-lane claim (at most leaseMs); default leaseMs. */
  urgentLeaseMs?: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  claimBatch: number;
}

type Lane = 'urgent' | 'ordinary';

/** A claimed event being handled: its lane, and its lease (renewed while it runs). */
interface Running {
  claimed: ClaimedEvent;
  lane: Lane;
  leaseMs: number;
  leaseUntil: number;
  isRenewing: boolean;
}

/** How one handling of a claimed event ended; `deferred`: its urgent part ran, the rest waits in the ordinary lane. */
export type ProcessOutcome = 'done' | 'ignored' | 'deferred' | 'retry' | 'failed' | 'lease_lost';

/** Observers for metrics. */
export interface InboxProcessorHooks {
  onProcessed?(kind: string, outcome: ProcessOutcome, ms: number, storedToHandledMs: number): void;
}

/**
 * Runs stored callbacks through their handlers. Any number of processes may run this against one database: claims
 * are leased and disjoint. A worker wakes the moment the local writer commits (a welcome_code lives 20 s,
 * docs/wecom-protocol.md §Welcome messages), and otherwise polls, which is how events stored by another instance
 * or left by a crash are picked up.
 */
export class InboxProcessor {
  private running = false;
  /** Events being handled, with the lane they came from and when their lease ends. */
  private inFlight = new Map<number, Running>();
  private renewTimer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  /** A poke that arrived while the loop was not waiting (e.g. mid-claim); the loop re-claims instead of sleeping. */
  private poked = false;
  /**
   * Whether a claim may find something. False once a claim came back short (the ready queue is empty as far as this
   * process knows); true again when an event is stored here, a finish made a subject's next event ready, or the poll
   * interval passes (events stored by other instances, retries coming due). Without it every finished handler cost
   * one empty claim: a transaction of three or four statements on MySQL, for nothing.
   */
  private mayFind = { urgent: true, ordinary: true };
  /** Bumped by every reason to look; a short claim only clears `mayFind` if none arrived while it ran. */
  private lookGen = 0;
  private loop: Promise<void> | null = null;
  /** How many ordinary-lane handlers may run at once now: `opts.workers`, lowered while the event loop runs late. */
  private allowed = 0;
  private lagTimer: NodeJS.Timeout | null = null;
  /** When a commit of the acknowledgement path was last seen slow (performance.now()); see STORE_HIGH_MS. */
  private slowStoreAt = -Infinity;
  private lastHalvedAt = -Infinity;
  private readonly onStored = () => this.poke();

  constructor(
    private readonly repo: InboxRepository,
    private readonly timeline: TimelineRepository,
    private readonly router: EventRouter,
    private readonly writer: InboxWriter | null,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly opts: InboxProcessorOptions,
    private readonly hooks: InboxProcessorHooks = {},
  ) {}

  /** Start claiming. No-op when configured with 0 workers. */
  start(): void {
    if (this.running || this.opts.workers === 0) return;
    this.running = true;
    this.allowed = this.opts.workers;
    this.watchLag();
    this.renewLeases();
    this.writer?.events.on('stored', this.onStored);
    this.loop = this.run();
  }

  /**
   * The acknowledgement path (in another thread) committed stored callbacks in `ms`: slow commits mean the handlers'
   * database work is holding the acknowledgements up, so the ordinary lane gives way (STORE_HIGH_MS).
   */
  storeTook(ms: number): void {
    if (ms <= STORE_HIGH_MS || !this.running) return;
    const now = performance.now();
    // One halving per STORE_CALM_MS at most: a burst of slow commits is one signal, not ten; slow commits that go on
    // keep halving, down to one handler.
    if (now - this.lastHalvedAt >= STORE_CALM_MS) {
      this.allowed = Math.max(1, Math.floor(this.allowed / 2));
      this.lastHalvedAt = now;
    }
    this.slowStoreAt = now;
  }

  /** Something may be ready (an event was stored, or the caller knows better): claim now. */
  poke(): void {
    this.mayFind = { urgent: true, ordinary: true };
    this.lookGen++;
    this.nudge();
  }

  /** Wake the loop without claiming a new reason to look: it claims only if the queue is not known to be empty. */
  private nudge(): void {
    const w = this.wake;
    this.wake = null;
    if (w) w();
    else this.poked = true;
  }

  /**
   * Stop claiming, let in-flight handlers finish for up to `graceMs`, then release whatever is still leased so
   * another instance can take it at once instead of waiting for the lease to expire.
   */
  async stop(graceMs = 10000): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.lagTimer) clearInterval(this.lagTimer);
    this.lagTimer = null;
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = null;
    this.writer?.events.off('stored', this.onStored);
    this.poke();
    const deadline = Date.now() + graceMs;
    while (this.inFlight.size > 0 && Date.now() < deadline) await sleep(20);
    await this.loop;
    if (this.inFlight.size > 0) {
      await this.repo.release([...this.inFlight.values()].map((r) => r.claimed), this.clock.now().getTime());
      this.log.warn({ released: this.inFlight.size }, 'released in-flight inbox events on shutdown');
    }
  }

  /** Claim and run due events until none are left; for CLI replays and tests. Returns how many ran. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const claims = await this.repo.claim(this.opts.claimBatch, this.clock.now().getTime(), this.opts.leaseMs);
      if (claims.length === 0) return total;
      await Promise.all(claims.map((c) => this.process(c)));
      total += claims.length;
    }
  }

  private async run(): Promise<void> {
    let lastHeal = 0;
    let heals = 0;
    /** MAX(id) at the last two repairs: the next one looks at events stored after the older. */
    const marks: number[] = [];
    let nextPollAt = 0;
    while (this.running) {
      // A MySQL event stored while its subject's previous one finished elsewhere can be left waiting: repair such
      // heads every few seconds (InboxRepository.healQueue, docs/inbox.md §Claims that stay flat).
      if (Date.now() - lastHeal >= HEAL_EVERY_MS) {
        lastHeal = Date.now();
        heals++;
        // Events stored since two repairs ago (a race is settled within milliseconds; two intervals leave room for a
        // slow commit); every HEAL_FULL_EVERY-th repair looks at all waiting events, as a safety net.
        const sinceId = heals % HEAL_FULL_EVERY === 1 ? undefined : marks[0];
        await this.repo
          .newestId()
          .then(async (newest) => {
            await this.repo.healQueue(sinceId === undefined ? {} : { sinceId });
            marks.push(newest);
            if (marks.length > 2) marks.shift();
          })
          .catch((err) => this.log.warn({ err: toError(err).message }, 'inbox queue repair failed; will retry'));
      }
      // The poll: events stored by other instances and retries coming due are found by looking every interval,
      // however busy the nudges keep the loop.
      if (Date.now() >= nextPollAt) {
        nextPollAt = Date.now() + this.opts.pollIntervalMs;
        this.mayFind = { urgent: true, ordinary: true };
      }
      // One turn of the event loop before claiming (docs/inbox.md §Cheap handlers): handlers that finish in the same
      // turn each poke the loop, and without the wait each poke claimed one event for its one free slot, a
      // transaction each; after it, one claim fills every slot freed meanwhile.
      await new Promise<void>((resolve) => setImmediate(resolve));
      // Cleared before the claim: an event committed after the claim's read pokes us, and that poke must not be lost.
      this.poked = false;
      // Each lane has its own slots (docs/inbox.md §Deadline first): the priority lane's work mostly waits on WeCom
      // and must not queue behind ordinary handlers, so its first `workers` slots never shrink while the loop is late.
      const free = { urgent: this.urgentSlots - this.busyIn('urgent'), ordinary: this.allowed - this.busyIn('ordinary') };
      const want = {
        urgent: this.mayFind.urgent ? Math.max(0, Math.min(free.urgent, this.opts.claimBatch)) : 0,
        ordinary: this.mayFind.ordinary ? Math.max(0, Math.min(free.ordinary, this.opts.claimBatch)) : 0,
      };
      let claimed: ClaimedEvent[] = [];
      if (want.urgent > 0 || want.ordinary > 0) {
        const gen = this.lookGen;
        try {
          claimed = await this.repo.claim(want, this.clock.now().getTime(), this.opts.leaseMs, this.urgentLeaseMs);
          if (gen === this.lookGen) {
            for (const lane of ['urgent', 'ordinary'] as const) {
              if (want[lane] > 0 && claimed.filter((c) => (c.lane ?? 'ordinary') === lane).length < want[lane]) this.mayFind[lane] = false;
            }
          }
        } catch (err) {
          this.log.warn({ err: toError(err).message }, 'inbox claim failed; will retry');
        }
      }
      for (const c of claimed) {
        const lane = c.lane ?? 'ordinary';
        const leaseMs = lane === 'urgent' ? this.urgentLeaseMs : this.opts.leaseMs;
        this.inFlight.set(c.event.id, { claimed: c, lane, leaseMs, leaseUntil: this.clock.now().getTime() + leaseMs, isRenewing: false });
        void this.process(c).then((freed) => {
          this.inFlight.delete(c.event.id);
          // A freed slot is worth a claim only if something may be waiting for it.
          if (freed) this.poke();
          else this.nudge();
        });
      }
      if (claimed.length > 0) continue;
      if (this.poked) continue;
      const timer = setTimeout(() => this.nudge(), Math.max(0, nextPollAt - Date.now()));
      timer.unref();
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      clearTimeout(timer);
    }
  }

  /** Handlers running that were claimed from `lane`. */
  private busyIn(lane: Lane): number {
    let n = 0;
    for (const r of this.inFlight.values()) if (r.lane === lane) n++;
    return n;
  }

  /** The priority lane's slots now: `workers`, plus EXTRA_URGENT_SLOTS_PER_ALLOWED for each ordinary slot allowed. */
  private get urgentSlots(): number {
    return this.opts.workers + EXTRA_URGENT_SLOTS_PER_ALLOWED * this.allowed;
  }

  private get urgentLeaseMs(): number {
    return Math.min(this.opts.urgentLeaseMs ?? this.opts.leaseMs, this.opts.leaseMs);
  }

  /**
   * Renew the lease of a handler that has used two thirds of it. The priority lane's lease is short so that a crashed
   * worker's adds come back while their welcome_code works (docs/inbox.md §Deadline first); a live handler that runs
   * long (a KF account's big sync) keeps its event rather than seeing another worker take it over mid-run.
   */
  private renewLeases(): void {
    const every = Math.max(100, Math.floor(this.urgentLeaseMs / 6));
    this.renewTimer = setInterval(() => {
      const now = this.clock.now().getTime();
      for (const [id, r] of this.inFlight) {
        if (r.isRenewing || r.leaseUntil - now > r.leaseMs / 3) continue;
        const until = now + r.leaseMs;
        r.isRenewing = true;
        this.repo
          .renew(r.claimed, until)
          .then((isKept) => {
            // A lost lease is left to finish(), which notices it and writes nothing; renewing stops.
            r.leaseUntil = isKept ? until : Infinity;
          })
          .catch((err) => this.log.warn({ err: toError(err).message, eventId: id }, 'inbox lease renewal failed; will retry'))
          .finally(() => (r.isRenewing = false));
      }
    }, every);
    this.renewTimer.unref();
  }

  /** Current handler concurrency (for metrics and tests). */
  get concurrency(): number {
    return this.allowed;
  }

  /**
   * Sample how late a short timer fires; halve the ordinary lane's slots (and with them the priority lane's extra ones)
   * when the loop runs late, grow them back slowly when it is on time. Callbacks are acknowledged on this same loop, so this is what keeps their latency low while
   * a backlog is worked off.
   */
  private watchLag(): void {
    let expected = performance.now() + LAG_SAMPLE_MS;
    this.lagTimer = setInterval(() => {
      const now = performance.now();
      const lag = Math.max(0, now - expected);
      expected = now + LAG_SAMPLE_MS;
      if (lag > LAG_HIGH_MS) this.allowed = Math.max(1, Math.floor(this.allowed / 2));
      else if (lag < LAG_LOW_MS && this.allowed < this.opts.workers && now - this.slowStoreAt >= STORE_CALM_MS) {
        this.allowed++;
        this.nudge();
      }
    }, LAG_SAMPLE_MS);
    this.lagTimer.unref();
  }

  /**
   * Run one claimed event through its handlers and record the outcome. Never throws. Resolves to whether another
   * event may have become ready because of it (its subject's next one, or the event itself coming back).
   */
  async process(claimed: ClaimedEvent): Promise<boolean> {
    const { event } = claimed;
    const started = Date.now();
    let mayHaveFreed = true;
    await logContext.run({ ...logContext.getStore(), eventId: event.id }, async () => {
      const handlers = this.router.resolve(event.kind);
      let outcome: ProcessOutcome;
      try {
        // The deadline first (docs/inbox.md §Deadline first): the urgent parts run now, and if any of them kept
        // something, the rest of the handling waits its turn in the ordinary lane, freeing this slot for the next
        // urgent event. Folded notifications share one handling, so they are never split this way.
        const deferred = await this.runUrgentParts(claimed, handlers);
        if (deferred !== null) {
          // The event itself is ready again, in the ordinary lane.
          mayHaveFreed = deferred;
          outcome = deferred ? 'deferred' : 'lease_lost';
        } else {
          const notes: TimelineNote[] = [];
          for (const h of handlers) {
            const note = await h.handle(event, { log: this.log.child({ handler: h.name }), now: this.clock.now() });
            if (note) notes.push(note);
          }
          const status = handlers.length === 0 ? 'ignored' : 'done';
          const now = this.clock.now();
          // The handlers' own writes commit with the finish (TimelineNote.inFinish), last: an add's channel stats row
          // is shared by every add through the channel, so its lock is held only for the commit.
          const { kept, promoted } = await this.repo.finish(claimed, status, now.getTime(), async (em) => {
            await this.writeTimeline(em, event, notes, now);
            for (const n of notes) if (n.inFinish) await n.inFinish(em);
          });
          mayHaveFreed = promoted;
          outcome = kept ? status : 'lease_lost';
        }
        if (outcome === 'lease_lost') this.log.warn({ kind: event.kind }, 'inbox lease lost before completion; another worker owns the event');
      } catch (err) {
        const error = toError(err);
        const parked = event.attempts >= this.opts.maxAttempts;
        const retryAt = parked ? null : this.clock.now().getTime() + this.backoff(event.attempts);
        await this.repo
          .fail(claimed, `${error.name}: ${error.message}`, retryAt, this.clock.now().getTime())
          .catch((e) => this.log.error({ err: toError(e).message }, 'could not record inbox failure; the lease will expire'));
        outcome = parked ? 'failed' : 'retry';
        this.log[parked ? 'error' : 'warn'](
          { kind: event.kind, attempts: event.attempts, err: error.message, retryAt },
          parked ? 'inbox event parked as failed' : 'inbox handler failed; will retry',
        );
      }
      this.hooks.onProcessed?.(event.kind, outcome, Date.now() - started, Date.now() - event.receivedAt.getTime());
    });
    return mayHaveFreed;
  }

  /**
   * Deadline first (docs/inbox.md §Deadline first): run the handlers' urgent parts; if any of them kept something,
   * put the event back in the ordinary lane with it and return whether the lease still held. Null when there is
   * nothing urgent to do (no urgent part, already deferred, folded notifications, which are never split) or nothing
   * was kept: the whole handling then runs now.
   */
  private async runUrgentParts(claimed: ClaimedEvent, handlers: EventHandler[]): Promise<boolean | null> {
    const { event } = claimed;
    if (isDeferred(event) || claimed.absorbed?.length) return null;
    const kept: Record<string, unknown> = {};
    for (const h of handlers) {
      if (!h.handleUrgent) continue;
      const state = await h.handleUrgent(event, { log: this.log.child({ handler: h.name }), now: this.clock.now() });
      if (state !== undefined) kept[h.name] = state;
    }
    if (Object.keys(kept).length === 0) return null;
    return this.repo.defer(claimed, { ...event.fields, [DEFERRED_FIELD]: JSON.stringify(kept) }, this.clock.now().getTime());
  }

  /** Exponential backoff with full jitter, capped. */
  private backoff(attempts: number): number {
    const ceiling = Math.min(this.opts.backoffMaxMs, this.opts.backoffBaseMs * 2 ** (attempts - 1));
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  private async writeTimeline(
    em: import('typeorm').EntityManager,
    event: InboundEvent,
    notes: TimelineNote[],
    now: Date,
  ): Promise<void> {
    const note = Object.assign({}, ...notes.map(({ inFinish: _writes, ...n }) => n)) as TimelineNote;
    if (note.isSilent) return;
    const externalUserId = note.externalUserId ?? eventField(event, 'ExternalUserID') ?? null;
    if (!externalUserId) return;
    await this.timeline.addInTx(
      em,
      {
        externalUserId,
        staffUserid: note.staffUserid ?? eventField(event, 'UserID') ?? null,
        kind: note.kind ?? event.kind,
        summary: note.summary ?? KIND_LABELS[event.kind] ?? event.kind,
        data: note.data ?? { state: eventField(event, 'State') ?? undefined, source: eventField(event, 'Source') ?? undefined },
        source: 'inbox',
        sourceId: String(event.id),
        occurredAt: new Date(eventCreateTimeMs(event.fields) ?? event.receivedAt.getTime()),
      },
      now,
    );
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
