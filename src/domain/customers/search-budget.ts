import type { SearchBudgetRepository } from '../../persistence/repositories/search-budget.repository.js';
import type { Principal } from '../auth/api-token.service.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { TooManyRequestsError } from '../../shared/errors.js';

/** Searches allowed per principal: per minute, and per day (0 = no daily budget). */
export interface SearchBudgetSettings {
  maxPerMinute: number;
  maxPerDay: number;
}

export const DEFAULT_SEARCH_BUDGET: Readonly<SearchBudgetSettings> = Object.freeze({ maxPerMinute: 30, maxPerDay: 600 });

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/**
 * Who a search is counted against: the API token's id, the sidebar session's userid, or ADMIN_TOKEN (which has no
 * id). A staff member's token and their sidebar are separate principals, each with its own budget.
 */
export function principalKey(p: Principal): string {
  if (p.tokenId) return `token:${p.tokenId}`;
  if (p.role === 'admin' && !p.userid) return 'admin-token';
  return `sidebar:${p.userid ?? ''}`;
}

/**
 * A budget of customer searches (`q`) per principal, counted in the database in fixed windows (a minute, a UTC day)
 * so every instance refuses alike. A masked phone (138****5678) leaves 10,000 candidates, and a search by the full
 * number says whether a guess is right; the budget makes trying them take weeks instead of seconds
 * (docs/security.md §Phone search). Refused searches count too, so hammering does not shorten the wait.
 */
export class SearchBudget {
  private lastPurge = 0;

  constructor(
    private readonly repo: SearchBudgetRepository,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly settings: SearchBudgetSettings = DEFAULT_SEARCH_BUDGET,
  ) {}

  /** Count one search by `principal`, or throw 429 (`retryAfterSeconds` until the exhausted window ends). */
  async spend(principal: string): Promise<void> {
    const now = this.clock.now().getTime();
    const windows = [{ name: 'minute', ms: MINUTE_MS, max: this.settings.maxPerMinute }];
    if (this.settings.maxPerDay > 0) windows.push({ name: 'day', ms: DAY_MS, max: this.settings.maxPerDay });
    const budgets = windows.map((w) => ({ subject: `${w.name[0]}:${principal}`, bucket: Math.floor(now / w.ms), max: w.max }));
    const { over, counts } = await this.repo.spend(budgets, now);
    if (now - this.lastPurge > MINUTE_MS) {
      this.lastPurge = now;
      await this.repo.purge(now - 2 * DAY_MS);
    }
    if (over < 0) return;
    const w = windows[over];
    const retryAfter = Math.max(1, Math.ceil(((budgets[over].bucket + 1) * w.ms - now) / 1000));
    if (counts[over] === w.max + 1) this.log.warn({ principal, window: w.name, max: w.max }, 'customer searches refused: search budget spent');
    const wait = retryAfter >= 3600 ? `${Math.ceil(retryAfter / 3600)} 小时` : retryAfter >= 60 ? `${Math.ceil(retryAfter / 60)} 分钟` : `${retryAfter} 秒`;
    throw new TooManyRequestsError(
      `搜索过于频繁：每${w.name === 'minute' ? '分钟' : '天'}最多 ${w.max} 次，请 ${wait}后再试 / too many searches: at most ${w.max} per ${w.name}`,
      retryAfter,
      'search_rate_limited',
    );
  }
}
