import { daysBetween, localDate } from '../../shared/dates.js';

/** A customer's activity class. */
export type Activity = 'active' | 'dormant' | 'churned';

/** Silence thresholds in days (config: settings.activity). */
export interface ActivityThresholds {
  dormantDays: number;
  churnedDays: number;
}

/** What classification looks at. */
export interface ActivityFacts {
  lastInteractionAt: Date | null;
  firstAddedAt: Date | null;
  hasActiveRelation: boolean;
}

/**
 * active / dormant (silent ≥ dormantDays) / churned (silent ≥ churnedDays, or no active relation left). Silence
 * counts local calendar days since the last interaction, or since being added when there was none (the audience
 * `silent` rule); a customer with neither date is active.
 */
export function classifyActivity(f: ActivityFacts, today: string, tz: string, t: ActivityThresholds): Activity {
  if (!f.hasActiveRelation) return 'churned';
  const since = f.lastInteractionAt ?? f.firstAddedAt;
  if (!since) return 'active';
  const silent = daysBetween(localDate(since, tz), today);
  if (silent >= t.churnedDays) return 'churned';
  if (silent >= t.dormantDays) return 'dormant';
  return 'active';
}

/** The local date a customer's current silence began (the win-back cycle key). */
export function silenceStart(f: Pick<ActivityFacts, 'lastInteractionAt' | 'firstAddedAt'>, tz: string): string | null {
  const since = f.lastInteractionAt ?? f.firstAddedAt;
  return since ? localDate(since, tz) : null;
}
