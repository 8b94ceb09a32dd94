/**
 * Runtime fault injection and WeCom's per-API frequency limits, so the bot's retry, back-off and token
 * refresh paths can be exercised on demand.
 */

/** What POST /_control/faults accepts (and WecomSandbox.injectFault). */
export type FaultSpec =
  | { api: string; errcode: number; count: number }
  | { errorRate: number; api?: string }
  | { latencyMs: number; api?: string }
  // The call runs (and is logged) but its answer is lost: the connection closes before any byte of it, as when a
  // network between the bot and WeCom drops. The caller cannot know whether it happened.
  | { api: string; loseAnswer: number }
  | { invalidateTokens: true };

const ANY_API = '*';

/** Holds the active faults and decides, per call, whether one applies. */
export class FaultInjector {
  private counted = new Map<string, Array<{ errcode: number; remaining: number }>>();
  private errorRates = new Map<string, number>();
  private latencies = new Map<string, number>();
  private lostAnswers = new Map<string, number>();

  constructor(private readonly random: () => number) {}

  /** Register a fault; token invalidation is the sandbox's job, not this class's. */
  add(spec: Exclude<FaultSpec, { invalidateTokens: true }>): void {
    if ('loseAnswer' in spec) {
      this.lostAnswers.set(spec.api, (this.lostAnswers.get(spec.api) ?? 0) + spec.loseAnswer);
    } else if ('errcode' in spec) {
      const queue = this.counted.get(spec.api) ?? [];
      queue.push({ errcode: spec.errcode, remaining: spec.count });
      this.counted.set(spec.api, queue);
    } else if ('errorRate' in spec) {
      this.errorRates.set(spec.api ?? ANY_API, spec.errorRate);
    } else {
      this.latencies.set(spec.api ?? ANY_API, spec.latencyMs);
    }
  }

  /** The errcode this call must answer instead of running, if a fault applies: counted faults first, then random -1. */
  takeError(api: string): number | undefined {
    const queue = this.counted.get(api);
    if (queue && queue.length > 0) {
      const head = queue[0];
      head.remaining -= 1;
      if (head.remaining <= 0) queue.shift();
      return head.errcode;
    }
    const rate = this.errorRates.get(api) ?? this.errorRates.get(ANY_API) ?? 0;
    // -1 is WeCom's "system busy", the error WeCom tells clients to retry
    // (docs/wecom-protocol.md §Error codes).
    if (rate > 0 && this.random() < rate) return -1;
    return undefined;
  }

  /** Whether this call's answer is to be lost (counted down per call). */
  takeLostAnswer(api: string): boolean {
    const n = this.lostAnswers.get(api) ?? 0;
    if (n <= 0) return false;
    if (n === 1) this.lostAnswers.delete(api);
    else this.lostAnswers.set(api, n - 1);
    return true;
  }

  /** Extra delay before this call answers. */
  latencyFor(api: string): number {
    return this.latencies.get(api) ?? this.latencies.get(ANY_API) ?? 0;
  }

  clear(): void {
    this.counted.clear();
    this.errorRates.clear();
    this.latencies.clear();
    this.lostAnswers.clear();
  }

  /** The active faults, for GET /_control/faults. */
  snapshot(): {
    counted: Record<string, Array<{ errcode: number; remaining: number }>>;
    errorRates: Record<string, number>;
    latencies: Record<string, number>;
    lostAnswers: Record<string, number>;
  } {
    return {
      lostAnswers: Object.fromEntries(this.lostAnswers),
      counted: Object.fromEntries([...this.counted].filter(([, q]) => q.length > 0).map(([k, q]) => [k, q.map((f) => ({ ...f }))])),
      errorRates: Object.fromEntries(this.errorRates),
      latencies: Object.fromEntries(this.latencies),
    };
  }
}

/** WeCom's default per-corp, per-API limit (docs/wecom-protocol.md §API rate limits). */
export const DEFAULT_PER_MINUTE = 10_000;
const MINUTE_MS = 60_000;

/** How the sandbox counts calls against its limits. */
export interface RateWindowSpec {
  /** Window length; default one minute. Tests shrink it so windows pass quickly. */
  windowMs?: number;
  /**
   * `true`: fixed windows aligned to the sandbox clock (floor(now / windowMs)), the model the shared limiter assumes
   * (docs/rate-limits.md §Windows and the guard). Default `false`: a sliding window, the stricter reading.
   */
  aligned?: boolean;
}

/** One window per API, sliding or aligned; `'*'` in the limits sets the default for every API. */
export class RateLimiter {
  private windows = new Map<string, number[]>();
  private windowMs: number;
  private aligned: boolean;

  constructor(
    private limits: Record<string, number> = {},
    spec: RateWindowSpec = {},
  ) {
    this.windowMs = spec.windowMs ?? MINUTE_MS;
    this.aligned = spec.aligned ?? false;
  }

  setLimits(limits: Record<string, number>, spec?: RateWindowSpec): void {
    this.limits = limits;
    if (spec?.windowMs !== undefined) this.windowMs = spec.windowMs;
    if (spec?.aligned !== undefined) this.aligned = spec.aligned;
  }

  /** Count one call at `nowMs`; false means it is over the limit and must answer 45009. */
  tryAcquire(api: string, nowMs: number): boolean {
    const limit = this.limits[api] ?? this.limits[ANY_API] ?? DEFAULT_PER_MINUTE;
    const alignedStart = Math.floor(nowMs / this.windowMs) * this.windowMs;
    const window = (this.windows.get(api) ?? []).filter((t) => (this.aligned ? t >= alignedStart : nowMs - t < this.windowMs));
    this.windows.set(api, window);
    // Rejected calls do not count, so a client that backs off for the window regains access
    // (docs/wecom-protocol.md §API rate limits).
    if (window.length >= limit) return false;
    window.push(nowMs);
    return true;
  }

  clear(): void {
    this.windows.clear();
  }
}
