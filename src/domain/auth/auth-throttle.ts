import type { AuthFailureRepository } from '../../persistence/repositories/auth-failure.repository.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';

/** Failures allowed per client address and window before it is refused with 429. */
export interface AuthThrottleSettings {
  maxFailures: number;
  windowMs: number;
}

export const DEFAULT_AUTH_THROTTLE: Readonly<AuthThrottleSettings> = Object.freeze({ maxFailures: 20, windowMs: 10 * 60_000 });

/**
 * Refuses a client that keeps presenting wrong API tokens (docs/reliability.md §Access control, §Reliability tests,
 * test 20), counted per address and fixed window in the database, so every instance behind the load balancer refuses it
 * alike. Only failures are counted and only a failing request is refused: a valid token is never locked out by someone
 * else's guesses from the same NAT, and a successful request costs no extra query. (Tokens are 256 random bits, so this
 * sheds load and noise rather than stopping a guess that could succeed.)
 */
export class AuthThrottle {
  private lastPurge = 0;

  constructor(
    private readonly repo: AuthFailureRepository,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly settings: AuthThrottleSettings = DEFAULT_AUTH_THROTTLE,
  ) {}

  /**
   * Record a failed authentication from `address`. Returns the seconds until the window ends when the address is
   * over its allowance (answer 429 with Retry-After), null otherwise (answer 401).
   */
  async failed(address: string): Promise<number | null> {
    const now = this.clock.now().getTime();
    const bucket = Math.floor(now / this.settings.windowMs);
    const failures = await this.repo.record(`ip:${address}`, bucket, now);
    if (now - this.lastPurge > this.settings.windowMs) {
      this.lastPurge = now;
      await this.repo.purge(now - 2 * this.settings.windowMs);
    }
    if (failures <= this.settings.maxFailures) return null;
    if (failures === this.settings.maxFailures + 1) this.log.warn({ address, failures, windowMs: this.settings.windowMs }, 'client refused: too many failed API authentications');
    return Math.max(1, Math.ceil(((bucket + 1) * this.settings.windowMs - now) / 1000));
  }
}
